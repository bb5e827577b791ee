//! edXML package (QCVN 102:2016/BTTTT) for sending a document between agencies'
//! document systems: the envelope's header (sender, recipients, number, date, type,
//! subject, signer) and the PDF attached in base64.
//!
//! The layout follows the national sample packages: a root `edXML` element, the
//! `edXML:edXMLEnvelope` (header and manifest) and the encoded attachments after it,
//! all in the QCVN 102:2016 namespace.

use std::io::{self, Cursor};

use base64::Engine;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use sha2::{Digest, Sha256};
use time::{Date, OffsetDateTime};

use crate::content;
use crate::error::RenderError;
use crate::model::{ConclusionNotice, DocNumber, Issuer, Minutes, Person};
use crate::vn::{self, nfc};

pub const NAMESPACE: &str = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
const XLINK: &str = "http://www.w3.org/1999/xlink";

/// An agency the package is addressed to (edXML `To`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Mã định danh of the receiving agency.
    pub organ_id: String,
    pub organ_name: String,
}

/// What the envelope says about the document; built from the minutes or the notice.
struct Header<'a> {
    issuer: &'a Issuer,
    number: Option<DocNumber>,
    kind: &'static str,
    type_name: &'static str,
    date: Option<Date>,
    subject: String,
    signer: &'a Person,
    competence: &'a str,
    file_name: String,
}

/// The package for signed (or draft) minutes; `pdf` is attached unchanged. `now` stamps
/// the trace header.
pub fn minutes_edxml(
    m: &Minutes,
    pdf: &[u8],
    to: &[Recipient],
    now: OffsetDateTime,
) -> Result<Vec<u8>, RenderError> {
    let h = Header {
        issuer: &m.issuer,
        number: m.number,
        kind: "BB",
        type_name: "Biên bản",
        date: m.signed_date,
        subject: format!("Biên bản {}", nfc(m.meeting_title.trim()))
            .trim_end()
            .to_owned(),
        signer: &m.chair,
        competence: "Chủ tọa",
        file_name: file_name("bien-ban", m.number),
    };
    write(&h, pdf, to, now)
}

pub fn notice_edxml(
    n: &ConclusionNotice,
    pdf: &[u8],
    to: &[Recipient],
    now: OffsetDateTime,
) -> Result<Vec<u8>, RenderError> {
    let h = Header {
        issuer: &n.issuer,
        number: n.number,
        kind: "TB",
        type_name: "Thông báo",
        date: n.signed_date,
        subject: content::notice_subject(n),
        signer: &n.signer,
        competence: n.competence.as_deref().unwrap_or("Trực tiếp"),
        file_name: file_name("thong-bao", n.number),
    };
    write(&h, pdf, to, now)
}

fn file_name(stem: &str, number: Option<DocNumber>) -> String {
    match number {
        Some(n) => format!("{stem}-{:02}-{}.pdf", n.seq, n.year),
        None => format!("{stem}-du-thao.pdf"),
    }
}

/// edXML writes dates as yyyy/mm/dd.
fn edxml_date(d: Date) -> String {
    format!("{}/{:02}/{:02}", d.year(), d.month() as u8, d.day())
}

fn leaf(w: &mut Writer<Cursor<Vec<u8>>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn write(
    h: &Header,
    pdf: &[u8],
    to: &[Recipient],
    now: OffsetDateTime,
) -> Result<Vec<u8>, RenderError> {
    build(h, pdf, to, now).map_err(|e| RenderError::Xml(e.to_string()))
}

fn build(h: &Header, pdf: &[u8], to: &[Recipient], now: OffsetDateTime) -> io::Result<Vec<u8>> {
    let notation = vn::notation(h.kind, &h.issuer.abbrev);
    let number = h
        .number
        .map(|n| format!("{:02}", n.seq))
        .unwrap_or_default();
    let date = h.date.map(edxml_date).unwrap_or_default();
    // Content-addressed id: the same PDF always gets the same id, and no clock or
    // random source is needed.
    let digest = Sha256::digest(pdf);
    let cid: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let document_id = format!("{},{},{}/{}", h.issuer.code, date, number, notation);
    let local = vn::local(now);
    let timestamp = format!(
        "{}/{:02}/{:02} {:02}:{:02}:{:02}",
        local.year(),
        local.month() as u8,
        local.day(),
        local.hour(),
        local.minute(),
        local.second()
    );
    // A draft has no number yet: "Biên bản (dự thảo)", not "Biên bản số /BB-UBND".
    let description = if number.is_empty() {
        format!("{} (dự thảo)", h.type_name)
    } else {
        format!("{} số {}/{}", h.type_name, number, notation)
    };

    let mut w = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.create_element("edXML")
        .with_attribute(("xmlns", NAMESPACE))
        .write_inner_content(|w| {
            w.create_element("edXML:edXMLEnvelope")
                .with_attribute(("xmlns:edXML", NAMESPACE))
                .write_inner_content(|w| {
                    w.create_element("edXML:edXMLHeader")
                        .write_inner_content(|w| {
                            w.create_element("edXML:MessageHeader")
                                .write_inner_content(|w| {
                                    w.create_element("edXML:From").write_inner_content(|w| {
                                        leaf(w, "edXML:OrganId", &h.issuer.code)?;
                                        let in_charge = h
                                            .issuer
                                            .parent_name
                                            .as_deref()
                                            .unwrap_or(&h.issuer.name);
                                        leaf(w, "edXML:OrganizationInCharge", &nfc(in_charge))?;
                                        leaf(w, "edXML:OrganName", &nfc(&h.issuer.name))
                                    })?;
                                    for r in to {
                                        w.create_element("edXML:To").write_inner_content(|w| {
                                            leaf(w, "edXML:OrganId", &r.organ_id)?;
                                            leaf(w, "edXML:OrganName", &nfc(&r.organ_name))
                                        })?;
                                    }
                                    leaf(w, "edXML:DocumentId", &document_id)?;
                                    w.create_element("edXML:Code").write_inner_content(|w| {
                                        leaf(w, "edXML:CodeNumber", &number)?;
                                        leaf(w, "edXML:CodeNotation", &notation)
                                    })?;
                                    w.create_element("edXML:PromulgationInfo")
                                        .write_inner_content(|w| {
                                            leaf(w, "edXML:Place", &nfc(&h.issuer.place_name))?;
                                            leaf(w, "edXML:PromulgationDate", &date)
                                        })?;
                                    w.create_element("edXML:DocumentType").write_inner_content(
                                        |w| {
                                            leaf(w, "edXML:Type", "1")?;
                                            leaf(w, "edXML:TypeDetail", "0")?;
                                            leaf(w, "edXML:TypeName", h.type_name)
                                        },
                                    )?;
                                    leaf(w, "edXML:Subject", &h.subject)?;
                                    leaf(w, "edXML:Content", &h.subject)?;
                                    w.create_element("edXML:SignerInfo").write_inner_content(
                                        |w| {
                                            leaf(w, "edXML:Competence", &nfc(h.competence))?;
                                            leaf(w, "edXML:Position", &nfc(&h.signer.position))?;
                                            leaf(w, "edXML:FullName", &nfc(&h.signer.full_name))
                                        },
                                    )?;
                                    w.create_element("edXML:ToPlaces").write_inner_content(
                                        |w| {
                                            for r in to {
                                                leaf(w, "edXML:Place", &nfc(&r.organ_name))?;
                                            }
                                            Ok(())
                                        },
                                    )?;
                                    Ok(())
                                })?;
                            w.create_element("edXML:TraceHeaderList")
                                .write_inner_content(|w| {
                                    w.create_element("edXML:TraceHeader").write_inner_content(
                                        |w| {
                                            leaf(w, "edXML:OrganId", &h.issuer.code)?;
                                            leaf(w, "edXML:Timestamp", &timestamp)
                                        },
                                    )?;
                                    Ok(())
                                })?;
                            Ok(())
                        })?;
                    w.create_element("edXML:edXMLBody")
                        .write_inner_content(|w| {
                            w.create_element("edXML:edXMLManifest")
                                .with_attribute(("version", "1.0"))
                                .write_inner_content(|w| {
                                    w.create_element("edXML:Reference")
                                        .with_attribute(("xmlns:xlink", XLINK))
                                        .with_attribute((
                                            "xlink:href",
                                            format!("cid:{cid}").as_str(),
                                        ))
                                        .with_attribute(("xlink:type", "simple"))
                                        .write_inner_content(|w| {
                                            leaf(w, "edXML:ContentId", &format!("cid:{cid}"))?;
                                            leaf(w, "edXML:ContentType", "application/pdf")?;
                                            leaf(w, "edXML:AttachmentName", &h.file_name)?;
                                            leaf(w, "edXML:Description", &description)
                                        })?;
                                    Ok(())
                                })?;
                            Ok(())
                        })?;
                    Ok(())
                })?;
            w.create_element("AttachmentEncoded")
                .write_inner_content(|w| {
                    w.create_element("Attachment").write_inner_content(|w| {
                        leaf(w, "ContentId", &format!("cid:{cid}"))?;
                        leaf(w, "ContentType", "application/pdf")?;
                        leaf(w, "AttachmentName", &h.file_name)?;
                        leaf(w, "Description", &description)?;
                        leaf(
                            w,
                            "ContentTransferEncoded",
                            &base64::engine::general_purpose::STANDARD.encode(pdf),
                        )
                    })?;
                    Ok(())
                })?;
            Ok(())
        })?;
    Ok(w.into_inner().into_inner())
}
