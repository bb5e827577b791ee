//! Independent readers of what the bridge produces (the tests never check a format
//! with our own parser alone): ffprobe for recordings, poppler for PDFs and
//! signatures, LibreOffice for DOCX, OpenSSL for certificates.

use anyhow::{Context, ensure};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// What ffprobe reads in a media file: (first stream's codec, duration in seconds).
pub fn ffprobe(path: &Path) -> anyhow::Result<(String, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-of",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .context("ffprobe (Debian package ffmpeg)")?;
    ensure!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)?;
    let codec = v["streams"][0]["codec_name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let duration = v["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .context("no duration")?;
    Ok((codec, duration))
}

/// pdftotext's text of a PDF, with line breaks and runs of spaces folded.
pub fn pdftotext(pdf: &[u8]) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf)?;
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .context("pdftotext (Debian package poppler-utils)")?;
    ensure!(out.status.success(), "pdftotext: {out:?}");
    Ok(String::from_utf8(out.stdout)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" "))
}

/// pdfsig's report on a signed PDF. It exits non-zero for a certificate it does not
/// trust (a test's self-signed one), so the report is returned either way.
pub fn pdfsig(pdf: &[u8]) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("signed.pdf");
    std::fs::write(&path, pdf)?;
    let out = Command::new("pdfsig")
        .arg(&path)
        .output()
        .context("pdfsig (Debian package poppler-utils)")?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// A DOCX as LibreOffice reads it, converted to plain text.
pub fn docx_text(docx: &[u8]) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("doc.docx"), docx)?;
    let out = Command::new("soffice")
        .current_dir(dir.path())
        .args(["--headless", "--convert-to", "txt:Text", "doc.docx"])
        .output()
        .context("soffice (Debian package libreoffice-writer-nogui)")?;
    ensure!(out.status.success(), "soffice: {out:?}");
    Ok(std::fs::read_to_string(dir.path().join("doc.txt"))?)
}

/// Runs `openssl ARGS` with `stdin`, returns its standard output; fails with its
/// standard error. OpenSSL reads and makes certificates independently of rustls.
pub fn openssl(args: &[&str], stdin: &[u8]) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running openssl (scripts/test installs it)")?;
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin)?;
    }
    let out = child.wait_with_output()?;
    ensure!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(out.stdout)
}

/// base64 SHA-256 of a PEM certificate's public key, the pin Chromium's
/// `--ignore-certificate-errors-spki-list` takes, computed by OpenSSL.
pub fn spki_sha256_base64(cert_pem: &Path) -> anyhow::Result<String> {
    let pubkey = openssl(
        &[
            "x509",
            "-pubkey",
            "-noout",
            "-in",
            &cert_pem.to_string_lossy(),
        ],
        b"",
    )?;
    let der = openssl(&["pkey", "-pubin", "-outform", "der"], &pubkey)?;
    let digest = openssl(&["dgst", "-sha256", "-binary"], &der)?;
    let b64 = openssl(&["base64", "-A"], &digest)?;
    Ok(String::from_utf8_lossy(&b64).trim().to_owned())
}
