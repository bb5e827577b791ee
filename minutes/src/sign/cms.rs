//! The detached CMS SignedData of a PAdES B-B signature (ETSI EN 319 142-1 with
//! ETSI.CAdES.detached): signed attributes content-type, message-digest and
//! signing-certificate-v2 (RFC 5035), RSA PKCS#1 v1.5 with SHA-256.

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier as Oid, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::{SignError, Signer};

const ID_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: Oid = Oid::new_unwrap("1.2.840.113549.1.7.2");
const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
const SIGNING_CERTIFICATE_V2: Oid = Oid::new_unwrap("1.2.840.113549.1.9.16.2.47");
const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");

/// ESS IssuerSerial (RFC 5035).
#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// ESSCertIDv2; the hash algorithm is the default SHA-256, so DER omits it.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn der_err(e: der::Error) -> SignError {
    SignError::Pdf(format!("CMS encoding: {e}"))
}

fn attribute(oid: Oid, value: Any) -> Result<Attribute, SignError> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(der_err)?;
    Ok(Attribute { oid, values })
}

fn sha256_alg() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: SHA256,
        parameters: None,
    }
}

/// The DER ContentInfo to put into `/Contents`, for `digest` = SHA-256 of the byte
/// ranges.
pub fn signed_data(
    digest: [u8; 32],
    chain: &[Vec<u8>],
    signer: &dyn Signer,
) -> Result<Vec<u8>, SignError> {
    let certs: Vec<Certificate> = chain
        .iter()
        .map(|c| Certificate::from_der(c).map_err(|e| SignError::CorruptCertificate(e.to_string())))
        .collect::<Result<_, _>>()?;
    let own = certs.first().ok_or(SignError::NoKey)?;
    let issuer = own.tbs_certificate.issuer.clone();
    let serial = own.tbs_certificate.serial_number.clone();

    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256::digest(&chain[0]).to_vec()).map_err(der_err)?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(issuer.clone())],
                serial_number: serial.clone(),
            },
        }],
    };
    let mut attrs = SetOfVec::new();
    attrs
        .insert(attribute(
            CONTENT_TYPE,
            Any::encode_from(&ID_DATA).map_err(der_err)?,
        )?)
        .map_err(der_err)?;
    attrs
        .insert(attribute(
            MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest.to_vec()).map_err(der_err)?)
                .map_err(der_err)?,
        )?)
        .map_err(der_err)?;
    attrs
        .insert(attribute(
            SIGNING_CERTIFICATE_V2,
            Any::encode_from(&ess).map_err(der_err)?,
        )?)
        .map_err(der_err)?;
    // What is signed is the DER of the attributes as a SET (RFC 5652 §5.4).
    let to_sign: [u8; 32] = Sha256::digest(attrs.to_der().map_err(der_err)?).into();
    let signature = signer.sign_digest(to_sign)?;

    let info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer,
            serial_number: serial,
        }),
        digest_alg: sha256_alg(),
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        signature: OctetString::new(signature).map_err(der_err)?,
        unsigned_attrs: None,
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(sha256_alg()).map_err(der_err)?;
    let mut cert_set = SetOfVec::new();
    for c in certs {
        cert_set
            .insert(CertificateChoices::Certificate(c))
            .map_err(der_err)?;
    }
    let mut infos = SetOfVec::new();
    infos.insert(info).map_err(der_err)?;
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet(cert_set)),
        crls: None,
        signer_infos: SignerInfos(infos),
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(der_err)?,
    }
    .to_der()
    .map_err(der_err)
}
