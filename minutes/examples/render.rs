//! Writes sample minutes and a notice (PDF, DOCX, edXML) into a folder, and a signed
//! copy of the minutes when given a PKCS#12 file:
//! `cargo run -p bridge-minutes --example render -- OUTDIR [FILE.p12 PASSWORD]`.

#[path = "../tests/common/sample.rs"]
mod sample;

use std::path::PathBuf;

use bridge_minutes::edxml::{Recipient, minutes_edxml, notice_edxml};
use bridge_minutes::sign::{Pkcs12Signer, sign_minutes};
use time::OffsetDateTime;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = PathBuf::from(
        args.first()
            .ok_or("usage: render OUTDIR [FILE.p12 PASSWORD]")?,
    );
    std::fs::create_dir_all(&out)?;
    let minutes = sample::minutes();
    let notice = sample::notice();
    let now = OffsetDateTime::now_utc();
    let to = [Recipient {
        organ_id: "000.00.31.H45".into(),
        organ_name: "Sở Nông nghiệp và Phát triển nông thôn".into(),
    }];
    let write = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
        std::fs::write(out.join(name), bytes)?;
        println!("wrote {} ({} bytes)", out.join(name).display(), bytes.len());
        Ok(())
    };
    let pdf = bridge_minutes::minutes_pdf(&minutes)?;
    write("bien-ban.pdf", &pdf.bytes)?;
    write(
        "bien-ban.docx",
        &bridge_minutes::docx::minutes_docx(&minutes)?,
    )?;
    let notice_pdf = bridge_minutes::notice_pdf(&notice)?;
    write("thong-bao.pdf", &notice_pdf.bytes)?;
    write(
        "thong-bao.docx",
        &bridge_minutes::docx::notice_docx(&notice)?,
    )?;
    write(
        "thong-bao.edxml",
        &notice_edxml(&notice, &notice_pdf.bytes, &to, now)?,
    )?;
    let minutes_pdf = if let [_, p12, password] = args.as_slice() {
        let signer = Pkcs12Signer::from_der(&std::fs::read(p12)?, password)?;
        let signed = sign_minutes(&minutes, &signer, now)?;
        write("bien-ban-da-ky.pdf", &signed)?;
        signed
    } else {
        pdf.bytes
    };
    write(
        "bien-ban.edxml",
        &minutes_edxml(&minutes, &minutes_pdf, &to, now)?,
    )?;
    Ok(())
}
