//! PAdES signing checked by poppler's pdfsig, with a certificate made by OpenSSL.
//! The test certificate is self-signed, so pdfsig reports it as not trusted: that is
//! expected; what must hold is that the signature itself is valid.

mod common;

use bridge_minutes::sign::{Pkcs12Signer, SignError, sign_minutes, sign_pdf};
use common::{flat, pdftotext, sample, tool};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

fn signer(dir: &std::path::Path) -> Pkcs12Signer {
    let p12 = common::make_p12(dir, "mật-khẩu", "365");
    Pkcs12Signer::from_der(&p12, "mật-khẩu").expect("open p12")
}

fn pdfsig(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("signed.pdf");
    std::fs::write(&path, pdf).expect("write");
    // pdfsig exits non-zero for an untrusted certificate; read its report either way.
    let out = std::process::Command::new("pdfsig")
        .arg(&path)
        .output()
        .expect("pdfsig could not be run; install the Debian package poppler-utils");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn signed_minutes_validate_in_pdfsig_and_keep_their_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let signer = signer(dir.path());
    let signed =
        sign_minutes(&sample::minutes(), &signer, OffsetDateTime::now_utc()).expect("sign");
    let report = pdfsig(&signed);
    assert!(
        report.contains("Signature Validation: Signature is Valid."),
        "{report}"
    );
    assert!(report.contains("ETSI.CAdES.detached"), "{report}");
    assert!(report.contains("Nguyen Thi Huong"), "{report}");
    assert!(report.contains("Total document signed"), "{report}");
    assert!(flat(&pdftotext(&signed)).contains("Số: 07/BB-UBND"));
}

#[test]
fn a_changed_byte_breaks_the_signature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let signer = signer(dir.path());
    let mut signed =
        sign_minutes(&sample::minutes(), &signer, OffsetDateTime::now_utc()).expect("sign");
    // Flip a byte inside the original document (inside the signed range).
    let at = signed.len() / 3;
    signed[at] ^= 0x01;
    let report = pdfsig(&signed);
    assert!(!report.contains("Signature is Valid."), "{report}");
}

#[test]
fn drafts_and_signed_pdfs_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let signer = signer(dir.path());
    let now = OffsetDateTime::now_utc();
    let mut draft = sample::minutes();
    draft.number = None;
    assert!(matches!(
        sign_minutes(&draft, &signer, now),
        Err(SignError::NotFinalized)
    ));
    let signed = sign_minutes(&sample::minutes(), &signer, now).expect("sign");
    assert!(matches!(
        sign_pdf(&signed, &signer, now),
        Err(SignError::AlreadySigned)
    ));
}

#[test]
fn expired_certificate_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let signer = signer(dir.path());
    let later = OffsetDateTime::now_utc() + Duration::days(400);
    match sign_minutes(&sample::minutes(), &signer, later) {
        Err(e @ SignError::CertificateExpired { .. }) => {
            assert!(e.to_string().contains("not valid at the signing time"))
        }
        other => panic!("expected CertificateExpired, got {other:?}"),
    }
    let before = datetime!(2000-01-01 0:00 UTC);
    assert!(matches!(
        sign_minutes(&sample::minutes(), &signer, before),
        Err(SignError::CertificateExpired { .. })
    ));
}

#[test]
fn wrong_password_and_corrupt_file_give_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p12 = common::make_p12(dir.path(), "đúng", "30");
    match Pkcs12Signer::from_der(&p12, "sai") {
        Err(SignError::WrongPassword) => {}
        Err(e) => panic!("expected WrongPassword, got {e}"),
        Ok(_) => panic!("a wrong password opened the file"),
    }
    let mut corrupt = p12.clone();
    corrupt.truncate(p12.len() / 2);
    match Pkcs12Signer::from_der(&corrupt, "đúng") {
        Err(e @ SignError::CorruptCertificate(_)) => {
            assert!(e.to_string().contains("not a readable PKCS#12"))
        }
        Err(e) => panic!("expected CorruptCertificate, got {e}"),
        Ok(_) => panic!("a truncated file opened"),
    }
    assert!(matches!(
        Pkcs12Signer::from_der(b"not a certificate", "x"),
        Err(SignError::CorruptCertificate(_))
    ));
    let _ = tool("openssl", &["version"], "openssl");
}
