//! Issue 18 item 6, "clean documents", read back by independent readers (poppler's
//! pdftotext, LibreOffice): empty fields never print as stray punctuation, the draft is
//! marked, the signature blocks print position then name, the issuer's name is broken
//! between the body and its place.

mod common;

use bridge_minutes::docx::{minutes_docx, notice_docx};
use bridge_minutes::{Minutes, Person, minutes_pdf, notice_pdf};
use common::{flat, libreoffice_text, pdftotext, sample};

fn nobody() -> Person {
    Person {
        full_name: String::new(),
        position: "  ".into(),
    }
}

/// Issued minutes whose place, chair and secretary were left empty.
fn empty_fields() -> Minutes {
    let mut m = sample::minutes();
    m.location = " ".into();
    m.chair = nobody();
    m.secretary = nobody();
    m
}

/// The punctuation an empty field used to leave behind: "Địa điểm: .", "…, .", " , ",
/// and lines ending in a lone comma.
fn assert_no_stray_punctuation(text: &str, reader: &str) {
    for bad in [": .", ", .", " , ", ",,", ": ,"] {
        assert!(!text.contains(bad), "{reader}: {bad:?} found in:\n{text}");
    }
    // Text wrapped inside a table cell may legitimately end a line with "chính,"; a
    // comma or a full stop standing alone, or a field's line ending in one, may not.
    for line in text.lines() {
        let l = line.trim_end();
        let field = ["Địa điểm", "Chủ trì", "Thư ký", "Vắng mặt"]
            .iter()
            .any(|f| l.trim_start().starts_with(f));
        assert!(
            !l.ends_with(" ,") && !l.ends_with(" .") && l.trim() != "," && l.trim() != ".",
            "{reader}: line {l:?} ends in stray punctuation in:\n{text}"
        );
        assert!(
            !(field && l.ends_with(',')),
            "{reader}: field line {l:?} ends in a comma in:\n{text}"
        );
    }
}

#[test]
fn empty_place_chair_and_secretary_print_as_blanks_in_the_pdf() {
    let text = pdftotext(&minutes_pdf(&empty_fields()).expect("render").bytes);
    assert_no_stray_punctuation(&text, "pdftotext");
    let flat = flat(&text);
    // Form fields left for the pen, as paper forms have them.
    for expected in [
        "Địa điểm: ……",
        "Chủ trì (chủ tọa): ……",
        "Thư ký (người ghi biên bản): ……",
        "THƯ KÝ",
        "CHỦ TỌA",
    ] {
        assert!(flat.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn empty_place_chair_and_secretary_print_as_blanks_in_the_docx() {
    let raw = libreoffice_text(&minutes_docx(&empty_fields()).expect("docx"));
    assert_no_stray_punctuation(&raw, "LibreOffice");
    let text = flat(&raw);
    assert!(text.contains("Địa điểm: ……"), "{text}");
    assert!(text.contains("Chủ trì (chủ tọa): ……"), "{text}");
}

#[test]
fn a_known_name_without_a_position_prints_no_empty_comma() {
    let mut m = sample::minutes();
    m.chair.position.clear();
    m.secretary.full_name.clear();
    let text = pdftotext(&minutes_pdf(&m).expect("render").bytes);
    assert_no_stray_punctuation(&text, "pdftotext");
    let flat = flat(&text);
    assert!(
        flat.contains("Chủ trì (chủ tọa): Nguyễn Thị Hường."),
        "{text}"
    );
    assert!(
        flat.contains("Thư ký (người ghi biên bản): Chuyên viên Văn phòng Ủy ban nhân dân tỉnh."),
        "{text}"
    );
}

#[test]
fn notice_with_an_unknown_chair_reads_as_a_sentence() {
    let mut n = sample::notice();
    n.meeting.chair = nobody();
    n.recipients.push("  ".into());
    let pdf = notice_pdf(&n).expect("render");
    let text = pdftotext(&pdf.bytes);
    assert_no_stray_punctuation(&text, "pdftotext");
    let flat = flat(&text);
    assert!(
        flat.contains("Kết luận tại cuộc họp trực tuyến về phòng, chống thiên tai năm 2025"),
        "{text}"
    );
    assert!(!flat.contains("- ;"), "{text}");
    let docx = libreoffice_text(&notice_docx(&n).expect("docx"));
    assert_no_stray_punctuation(&docx, "LibreOffice");
}

#[test]
fn signature_blocks_print_position_then_name_and_leave_an_unknown_name_blank() {
    let text = flat(&pdftotext(
        &minutes_pdf(&sample::minutes()).expect("render").bytes,
    ));
    let chair = text.find("CHỦ TỌA").expect("CHỦ TỌA");
    let tail = &text[chair..];
    let pos = tail
        .find("Phó Chủ tịch Ủy ban nhân dân tỉnh")
        .expect("chair's position under CHỦ TỌA");
    let name = tail.find("Nguyễn Thị Hường").expect("chair's name");
    assert!(pos < name, "position before name:\n{tail}");

    // No name known: the title and position print, the name line stays empty for the pen.
    let mut m = sample::minutes();
    m.chair.full_name.clear();
    let text = flat(&pdftotext(&minutes_pdf(&m).expect("render").bytes));
    let tail = &text[text.find("CHỦ TỌA").expect("CHỦ TỌA")..];
    assert!(tail.contains("Phó Chủ tịch Ủy ban nhân dân tỉnh"), "{tail}");
    assert!(!text.contains("Nguyễn Thị Hường"), "{text}");
}

#[test]
fn drafts_carry_the_draft_mark_and_issued_documents_do_not() {
    let mut draft = sample::minutes();
    draft.number = None;
    draft.signed_date = None;
    let pdf = pdftotext(&minutes_pdf(&draft).expect("render").bytes);
    assert!(pdf.contains("DỰ THẢO"), "{pdf}");
    let docx = libreoffice_text(&minutes_docx(&draft).expect("docx"));
    assert!(docx.contains("DỰ THẢO"), "{docx}");
    let mut notice = sample::notice();
    notice.number = None;
    notice.signed_date = None;
    assert!(pdftotext(&notice_pdf(&notice).expect("render").bytes).contains("DỰ THẢO"));

    let issued = pdftotext(&minutes_pdf(&sample::minutes()).expect("render").bytes);
    assert!(!issued.contains("DỰ THẢO"), "{issued}");
    let issued = pdftotext(&notice_pdf(&sample::notice()).expect("render").bytes);
    assert!(!issued.contains("DỰ THẢO"), "{issued}");
}

#[test]
fn issuer_is_broken_between_the_body_and_its_place() {
    // pdftotext keeps the header's lines as lines: the body's kind on one, the place on
    // the next, never "… TỈNH" / "PHÚ THỌ".
    let text = pdftotext(&minutes_pdf(&sample::minutes()).expect("render").bytes);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with("ỦY BAN NHÂN DÂN"))
        .unwrap_or_else(|| panic!("no issuer line in:\n{text}"));
    assert!(!lines[i].contains("TỈNH"), "{text}");
    assert!(
        lines[i..].iter().any(|l| l.starts_with("TỈNH PHÚ THỌ")),
        "{text}"
    );
    assert!(!lines.contains(&"PHÚ THỌ"), "{text}");
    let docx = libreoffice_text(&minutes_docx(&sample::minutes()).expect("docx"));
    // LibreOffice starts its text with a byte-order mark.
    let line = |want: &str| {
        docx.lines()
            .any(|l| l.trim_matches(['\u{feff}', ' ']) == want)
    };
    assert!(line("ỦY BAN NHÂN DÂN"), "{docx}");
    assert!(line("TỈNH PHÚ THỌ"), "{docx}");
}

#[test]
fn the_edxml_of_a_draft_with_empty_fields_is_clean_too() {
    use base64::Engine;
    let mut m = empty_fields();
    m.number = None;
    m.signed_date = None;
    let pdf = minutes_pdf(&m).expect("pdf").bytes;
    let to = [bridge_minutes::edxml::Recipient {
        organ_id: "000.00.31.H45".into(),
        organ_name: "Sở Tài chính".into(),
    }];
    let now = time::macros::datetime!(2025-03-07 10:00 UTC);
    let xml = bridge_minutes::edxml::minutes_edxml(&m, &pdf, &to, now).expect("edxml");
    let xml = String::from_utf8(xml).expect("utf-8");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    let mut attached = None;
    for node in doc.descendants().filter(|n| n.is_element()) {
        let Some(t) = node.text().map(str::trim).filter(|t| !t.is_empty()) else {
            continue;
        };
        match node.tag_name().name() {
            "ContentTransferEncoded" => attached = Some(t.to_owned()),
            "Description" => assert_eq!(t, "Biên bản (dự thảo)"),
            // A structured key ("code,yyyy/mm/dd,number/notation"), not text: a draft
            // has no date and number, and the format keeps their empty places.
            "DocumentId" => assert_eq!(t, "000.00.00.H45,,/BB-UBND"),
            name => assert_no_stray_punctuation(t, &format!("edXML {name}")),
        }
    }
    let attached = base64::engine::general_purpose::STANDARD
        .decode(attached.expect("the attachment"))
        .expect("base64");
    let text = pdftotext(&attached);
    assert_no_stray_punctuation(&text, "edXML's PDF");
    assert!(text.contains("DỰ THẢO"), "{text}");
}
