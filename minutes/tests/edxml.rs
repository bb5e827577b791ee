//! The edXML package read back by an independent XML parser (roxmltree).

mod common;

use base64::Engine;
use bridge_minutes::edxml::{NAMESPACE, Recipient, minutes_edxml, notice_edxml};
use bridge_minutes::{minutes_pdf, notice_pdf};
use common::sample;
use time::macros::datetime;

fn to() -> Vec<Recipient> {
    vec![
        Recipient {
            organ_id: "000.00.31.H45".into(),
            organ_name: "Sở Nông nghiệp và Phát triển nông thôn".into(),
        },
        Recipient {
            organ_id: "000.00.32.H45".into(),
            organ_name: "Sở Tài chính".into(),
        },
    ]
}

fn text<'a>(node: roxmltree::Node<'a, 'a>, path: &[&str]) -> String {
    let mut n = node;
    for name in path {
        n = n
            .children()
            .find(|c| c.has_tag_name((NAMESPACE, *name)))
            .unwrap_or_else(|| panic!("no {name} under {:?}", n.tag_name()));
    }
    n.text().unwrap_or_default().to_string()
}

#[test]
fn minutes_package_has_the_header_fields_and_the_identical_pdf() {
    let m = sample::minutes();
    let pdf = minutes_pdf(&m).expect("pdf").bytes;
    let now = datetime!(2025-03-07 10:00 UTC);
    let xml = minutes_edxml(&m, &pdf, &to(), now).expect("edxml");
    let xml = String::from_utf8(xml).expect("utf-8");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert!(root.has_tag_name((NAMESPACE, "edXML")));
    let env = root
        .children()
        .find(|c| c.has_tag_name((NAMESPACE, "edXMLEnvelope")))
        .expect("envelope");
    let header = env
        .children()
        .find(|c| c.has_tag_name((NAMESPACE, "edXMLHeader")))
        .expect("header")
        .children()
        .find(|c| c.has_tag_name((NAMESPACE, "MessageHeader")))
        .expect("message header");
    assert_eq!(text(header, &["From", "OrganId"]), "000.00.00.H45");
    assert_eq!(
        text(header, &["From", "OrganName"]),
        "Ủy ban nhân dân tỉnh Phú Thọ"
    );
    let tos: Vec<String> = header
        .children()
        .filter(|c| c.has_tag_name((NAMESPACE, "To")))
        .map(|t| text(t, &["OrganId"]))
        .collect();
    assert_eq!(tos, ["000.00.31.H45", "000.00.32.H45"]);
    assert_eq!(text(header, &["Code", "CodeNumber"]), "07");
    assert_eq!(text(header, &["Code", "CodeNotation"]), "BB-UBND");
    assert_eq!(text(header, &["PromulgationInfo", "Place"]), "Phú Thọ");
    assert_eq!(
        text(header, &["PromulgationInfo", "PromulgationDate"]),
        "2025/03/07"
    );
    assert_eq!(text(header, &["DocumentType", "TypeName"]), "Biên bản");
    assert!(text(header, &["Subject"]).contains("phòng, chống thiên tai"));
    assert_eq!(
        text(header, &["SignerInfo", "FullName"]),
        "Nguyễn Thị Hường"
    );
    assert_eq!(
        text(header, &["SignerInfo", "Position"]),
        "Phó Chủ tịch Ủy ban nhân dân tỉnh"
    );

    let reference = env
        .descendants()
        .find(|c| c.has_tag_name((NAMESPACE, "Reference")))
        .expect("manifest reference");
    let cid = text(reference, &["ContentId"]);
    assert_eq!(text(reference, &["ContentType"]), "application/pdf");
    assert_eq!(text(reference, &["AttachmentName"]), "bien-ban-07-2025.pdf");
    let attachment = root
        .descendants()
        .find(|c| c.has_tag_name((NAMESPACE, "Attachment")))
        .expect("encoded attachment");
    assert_eq!(text(attachment, &["ContentId"]), cid);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(text(attachment, &["ContentTransferEncoded"]))
        .expect("base64");
    assert_eq!(decoded, pdf, "the attachment is the PDF, byte for byte");
}

#[test]
fn notice_package_carries_the_notice_number_and_type() {
    let n = sample::notice();
    let pdf = notice_pdf(&n).expect("pdf").bytes;
    let xml = notice_edxml(&n, &pdf, &to(), datetime!(2025-03-08 02:00 UTC)).expect("edxml");
    let xml = String::from_utf8(xml).expect("utf-8");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let header = doc
        .descendants()
        .find(|c| c.has_tag_name((NAMESPACE, "MessageHeader")))
        .expect("message header");
    assert_eq!(text(header, &["Code", "CodeNotation"]), "TB-UBND");
    assert_eq!(text(header, &["Code", "CodeNumber"]), "12");
    assert_eq!(text(header, &["DocumentType", "TypeName"]), "Thông báo");
    assert_eq!(text(header, &["SignerInfo", "Competence"]), "TL. Chủ tịch");
    let stamp = doc
        .descendants()
        .find(|c| c.has_tag_name((NAMESPACE, "Timestamp")))
        .and_then(|n| n.text())
        .expect("timestamp");
    assert_eq!(stamp, "2025/03/08 09:00:00", "trace time in Vietnam time");
}
