//! PAdES baseline B-B signatures on the final minutes PDF.
//!
//! The PDF gets an incremental update (the original bytes stay untouched, as a signed
//! PDF requires) with an invisible signature field on page 1 and a `/Sig` dictionary;
//! its `/Contents` holds a detached CMS SignedData over the `/ByteRange` with the signed
//! attributes content-type, message-digest and signing-certificate-v2, and no
//! signing-time (PAdES puts the time in `/M`).
//!
//! Keys stay behind [`Signer`]: it is handed the SHA-256 digest of the signed
//! attributes and returns the signature, so a USB token (PKCS#11) or a remote signing
//! service can implement it; [`Pkcs12Signer`] reads a `.p12` file.

mod cms;
mod incremental;
mod pkcs12;

use der::Decode;
use time::OffsetDateTime;
use x509_cert::Certificate;

use crate::model::Minutes;
pub use pkcs12::Pkcs12Signer;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the certificate file is not a readable PKCS#12 file: {0}")]
    CorruptCertificate(String),
    #[error("wrong password for the certificate file")]
    WrongPassword,
    #[error("the certificate file holds no private key with its certificate")]
    NoKey,
    #[error("only RSA keys are supported: {0}")]
    UnsupportedKey(String),
    #[error("the certificate is not valid at the signing time (valid {not_before} to {not_after})")]
    CertificateExpired {
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    },
    #[error("the minutes are a draft: give them a number and a date before signing")]
    NotFinalized,
    #[error("the PDF is already signed")]
    AlreadySigned,
    #[error("the PDF cannot be signed: {0}")]
    Pdf(String),
    #[error("the signing device failed: {0}")]
    Device(String),
    #[error(transparent)]
    Render(#[from] crate::error::RenderError),
}

/// A signing key somewhere (file, token, service) with its certificate chain.
pub trait Signer {
    /// DER certificates, the signer's own first, then its issuers.
    fn certificate_chain(&self) -> Vec<Vec<u8>>;
    /// RSA PKCS#1 v1.5 signature of a SHA-256 digest (the digest of the DER-encoded
    /// signed attributes).
    fn sign_digest(&self, sha256: [u8; 32]) -> Result<Vec<u8>, SignError>;
}

/// Renders final minutes and signs them at `now` (which goes into `/M` and is checked
/// against the certificate's validity).
pub fn sign_minutes(
    m: &Minutes,
    signer: &dyn Signer,
    now: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    if !m.is_final() {
        return Err(SignError::NotFinalized);
    }
    let pdf = crate::pdf::minutes_pdf(m)?;
    sign_pdf(&pdf.bytes, signer, now)
}

/// Signs any PDF (one without a signature yet) with an incremental update.
pub fn sign_pdf(
    pdf: &[u8],
    signer: &dyn Signer,
    now: OffsetDateTime,
) -> Result<Vec<u8>, SignError> {
    let chain = signer.certificate_chain();
    let own = chain.first().ok_or(SignError::NoKey)?;
    let cert =
        Certificate::from_der(own).map_err(|e| SignError::CorruptCertificate(e.to_string()))?;
    let validity = &cert.tbs_certificate.validity;
    let not_before = to_time(validity.not_before.to_unix_duration())?;
    let not_after = to_time(validity.not_after.to_unix_duration())?;
    if now < not_before || now > not_after {
        return Err(SignError::CertificateExpired {
            not_before,
            not_after,
        });
    }
    incremental::sign(pdf, now, |digest| cms::signed_data(digest, &chain, signer))
}

fn to_time(d: std::time::Duration) -> Result<OffsetDateTime, SignError> {
    OffsetDateTime::from_unix_timestamp(d.as_secs() as i64)
        .map_err(|e| SignError::CorruptCertificate(e.to_string()))
}
