//! Shared by the integration tests: sample documents and the Debian tools that check
//! our output independently (poppler-utils, LibreOffice, OpenSSL).
#![allow(dead_code)]

pub mod sample;

use std::path::Path;
use std::process::Command;

/// Runs a tool and returns its stdout; a missing tool fails the test with the package
/// to install rather than skipping.
pub fn tool(program: &str, args: &[&str], package: &str) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("`{program}` could not be run ({e}); install the Debian package {package}")
        });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let p = path.to_str().expect("utf-8 path");
    tool("pdftotext", &["-enc", "UTF-8", p, "-"], "poppler-utils")
}

/// The DOCX opened by LibreOffice (headless) and saved as plain text.
pub fn libreoffice_text(docx: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("doc.docx");
    std::fs::write(&path, docx).expect("write");
    let outdir = dir.path().to_str().expect("path");
    // A private profile so parallel runs do not share LibreOffice's lock.
    let profile = format!("-env:UserInstallation=file://{outdir}/profile");
    tool(
        "soffice",
        &[
            &profile,
            "--headless",
            "--convert-to",
            "txt:Text (encoded):UTF8",
            "--outdir",
            outdir,
            path.to_str().expect("path"),
        ],
        "libreoffice-writer-nogui",
    );
    std::fs::read_to_string(dir.path().join("doc.txt")).expect("LibreOffice wrote no text")
}

/// Collapses runs of whitespace so wrapped lines compare as running text.
pub fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A self-signed RSA certificate and key in a PKCS#12 file made by OpenSSL.
pub fn make_p12(dir: &Path, password: &str, days: &str) -> Vec<u8> {
    let key = dir.join("key.pem");
    let cert = dir.join("cert.pem");
    let p12 = dir.join("signer.p12");
    let s = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    tool(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &s(&key),
            "-out",
            &s(&cert),
            "-days",
            days,
            "-subj",
            "/C=VN/O=UBND tinh Phu Tho/CN=Nguyen Thi Huong",
        ],
        "openssl",
    );
    tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            &s(&key),
            "-in",
            &s(&cert),
            "-out",
            &s(&p12),
            "-passout",
            &format!("pass:{password}"),
        ],
        "openssl",
    );
    std::fs::read(p12).expect("read p12")
}
