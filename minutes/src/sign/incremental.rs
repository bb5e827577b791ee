//! The incremental update that carries a signature. Written by hand on purpose: the
//! `/ByteRange` must name the exact byte offsets of the `/Contents` placeholder in the
//! final file, which general PDF writers do not expose; lopdf is used only to read the
//! catalog, the first page and the trailer of the original.

use std::io::Write;

use lopdf::{Dictionary, Object, ObjectId, Writer};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::SignError;
use crate::vn;

/// Room reserved for the DER SignedData (a 4096-bit RSA signature with a chain of a few
/// certificates fits well below this); hex doubles it in the file.
pub const CONTENTS_BYTES: usize = 16 * 1024;
const BYTE_RANGE_PLACEHOLDER: &str = "[0 0000000000 0000000000 0000000000]";

fn pdf_err(e: impl std::fmt::Display) -> SignError {
    SignError::Pdf(e.to_string())
}

fn is_name(d: &Dictionary, key: &[u8], value: &[u8]) -> bool {
    matches!(d.get(key), Ok(Object::Name(n)) if n.as_slice() == value)
}

/// PDF date in Vietnam time, e.g. D:20250307093000+07'00'.
fn pdf_date(t: OffsetDateTime) -> String {
    let l = vn::local(t);
    format!(
        "D:{}{:02}{:02}{:02}{:02}{:02}+07'00'",
        l.year(),
        l.month() as u8,
        l.day(),
        l.hour(),
        l.minute(),
        l.second()
    )
}

fn write_obj(
    out: &mut Vec<u8>,
    offsets: &mut Vec<(u32, usize)>,
    id: u32,
    obj: &Object,
) -> Result<(), SignError> {
    offsets.push((id, out.len()));
    writeln!(out, "{id} 0 obj").map_err(pdf_err)?;
    Writer::write_object(out, obj).map_err(pdf_err)?;
    out.extend_from_slice(b"\nendobj\n");
    Ok(())
}

/// Appends the signature field and a `/Sig` dictionary, then fills `/Contents` with
/// `make(sha256 of the signed byte ranges)`.
pub fn sign(
    pdf: &[u8],
    now: OffsetDateTime,
    make: impl FnOnce([u8; 32]) -> Result<Vec<u8>, SignError>,
) -> Result<Vec<u8>, SignError> {
    let doc = lopdf::Document::load_mem(pdf).map_err(pdf_err)?;
    for obj in doc.objects.values() {
        if let Ok(d) = obj.as_dict()
            && (is_name(d, b"Type", b"Sig") || is_name(d, b"FT", b"Sig"))
        {
            return Err(SignError::AlreadySigned);
        }
    }
    let root_id: ObjectId = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(pdf_err)?;
    let mut catalog = doc
        .get_object(root_id)
        .and_then(Object::as_dict)
        .map_err(pdf_err)?
        .clone();
    let page_id = *doc
        .get_pages()
        .get(&1)
        .ok_or_else(|| pdf_err("the PDF has no pages"))?;
    let mut page = doc
        .get_object(page_id)
        .and_then(Object::as_dict)
        .map_err(pdf_err)?
        .clone();
    let size = doc
        .trailer
        .get(b"Size")
        .and_then(Object::as_i64)
        .map_err(pdf_err)?;
    let size = u32::try_from(size).map_err(pdf_err)?.max(doc.max_id + 1);
    let (sig_id, widget_id) = (size, size + 1);

    // The widget joins page 1's annotations and the form's fields.
    let mut annots = match page.get(b"Annots") {
        Ok(Object::Array(a)) => a.clone(),
        Ok(Object::Reference(r)) => doc
            .get_object(*r)
            .and_then(Object::as_array)
            .map_err(pdf_err)?
            .clone(),
        _ => Vec::new(),
    };
    annots.push(Object::Reference((widget_id, 0)));
    page.set("Annots", annots);
    let mut form = match catalog.get(b"AcroForm") {
        Ok(Object::Dictionary(d)) => d.clone(),
        Ok(Object::Reference(r)) => doc
            .get_object(*r)
            .and_then(Object::as_dict)
            .map_err(pdf_err)?
            .clone(),
        _ => Dictionary::new(),
    };
    let mut fields = form
        .get(b"Fields")
        .and_then(Object::as_array)
        .cloned()
        .unwrap_or_default();
    fields.push(Object::Reference((widget_id, 0)));
    form.set("Fields", fields);
    // SignaturesExist | AppendOnly.
    form.set("SigFlags", 3);
    catalog.set("AcroForm", form);

    let mut widget = Dictionary::new();
    widget.set("Type", Object::Name(b"Annot".to_vec()));
    widget.set("Subtype", Object::Name(b"Widget".to_vec()));
    widget.set("FT", Object::Name(b"Sig".to_vec()));
    widget.set("T", Object::string_literal("Signature1"));
    widget.set("V", Object::Reference((sig_id, 0)));
    // Print | Locked; an empty rectangle makes the signature invisible.
    widget.set("F", 132);
    widget.set("Rect", vec![0.into(), 0.into(), 0.into(), 0.into()]);
    widget.set("P", Object::Reference(page_id));

    let mut out = pdf.to_vec();
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    let mut offsets = Vec::new();
    offsets.push((sig_id, out.len()));
    write!(
        out,
        "{sig_id} 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M ({}) /ByteRange ",
        pdf_date(now)
    )
    .map_err(pdf_err)?;
    let range_at = out.len();
    out.extend_from_slice(BYTE_RANGE_PLACEHOLDER.as_bytes());
    out.extend_from_slice(b" /Contents ");
    let contents_start = out.len();
    out.push(b'<');
    out.extend(std::iter::repeat_n(b'0', CONTENTS_BYTES * 2));
    out.push(b'>');
    let contents_end = out.len();
    out.extend_from_slice(b" >>\nendobj\n");
    write_obj(
        &mut out,
        &mut offsets,
        widget_id,
        &Object::Dictionary(widget),
    )?;
    write_obj(&mut out, &mut offsets, page_id.0, &Object::Dictionary(page))?;
    write_obj(
        &mut out,
        &mut offsets,
        root_id.0,
        &Object::Dictionary(catalog),
    )?;

    let xref_at = out.len();
    out.extend_from_slice(b"xref\n");
    offsets.sort();
    for (id, at) in &offsets {
        // Each entry is exactly 20 bytes.
        write!(out, "{id} 1\n{at:010} 00000 n \n").map_err(pdf_err)?;
    }
    let mut trailer = Dictionary::new();
    trailer.set("Size", i64::from(widget_id + 1));
    trailer.set("Root", Object::Reference(root_id));
    for key in [b"Info".as_slice(), b"ID".as_slice()] {
        if let Ok(v) = doc.trailer.get(key) {
            trailer.set(key, v.clone());
        }
    }
    trailer.set("Prev", doc.xref_start as i64);
    out.extend_from_slice(b"trailer\n");
    Writer::write_object(&mut out, &Object::Dictionary(trailer)).map_err(pdf_err)?;
    write!(out, "\nstartxref\n{xref_at}\n%%EOF\n").map_err(pdf_err)?;

    let range = format!(
        "[0 {:<10} {:<10} {:<10}]",
        contents_start,
        contents_end,
        out.len() - contents_end
    );
    if range.len() != BYTE_RANGE_PLACEHOLDER.len() {
        return Err(pdf_err("the PDF is too large to sign"));
    }
    out[range_at..range_at + range.len()].copy_from_slice(range.as_bytes());
    let mut h = Sha256::new();
    h.update(&out[..contents_start]);
    h.update(&out[contents_end..]);
    let cms = make(h.finalize().into())?;
    if cms.len() > CONTENTS_BYTES {
        return Err(pdf_err(
            "the signature does not fit the space reserved for it",
        ));
    }
    let hex: String = cms.iter().map(|b| format!("{b:02X}")).collect();
    out[contents_start + 1..contents_start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    Ok(out)
}
