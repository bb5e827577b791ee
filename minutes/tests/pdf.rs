//! The PDF as a reader sees it: text extracted by poppler's pdftotext, fonts listed by
//! pdffonts.

mod common;

use bridge_minutes::{RenderError, minutes_pdf, notice_pdf};
use common::{flat, pdftotext, sample, tool};

#[test]
fn minutes_text_comes_back_exactly_with_every_diacritic() {
    let pdf = minutes_pdf(&sample::minutes()).expect("render");
    let text = pdftotext(&pdf.bytes);
    let flat = flat(&text);
    for expected in [
        "ỦY BAN NHÂN DÂN TỈNH PHÚ THỌ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Số: 07/BB-UBND",
        "Phú Thọ, ngày 07 tháng 3 năm 2025",
        "BIÊN BẢN",
        "Thời gian bắt đầu: 08 giờ 00, ngày 07 tháng 3 năm 2025.",
        "Ông Lê Văn Thắng",
        "Bà Hà Thị Ngọc Ánh",
        "Ông Đinh Công Trứ",
        "(trực tuyến 08:01–11:29)",
        "Vắng mặt: Ủy ban nhân dân xã Xuân Đài.",
        "Chủ trì (chủ tọa): Nguyễn Thị Hường",
        "Thư ký (người ghi biên bản): Đặng Quốc Việt",
        "Cuộc họp kết thúc vào 11 giờ 30, ngày 07 tháng 3 năm 2025./.",
        "THƯ KÝ",
        "CHỦ TỌA",
    ] {
        assert!(flat.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert_eq!(pdf.pages, 2);
    // Page 2 carries its number; page 1 none.
    assert!(
        text.split('\u{c}')
            .nth(1)
            .is_some_and(|p| p.trim_start().starts_with('2'))
    );
}

#[test]
fn fonts_are_embedded_subsets_with_unicode_maps() {
    let pdf = minutes_pdf(&sample::minutes()).expect("render");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("m.pdf");
    std::fs::write(&path, &pdf.bytes).expect("write");
    let fonts = tool("pdffonts", &[path.to_str().expect("path")], "poppler-utils");
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(rows.len() >= 3, "{fonts}");
    for style in [
        "LiberationSerif-Bold",
        "LiberationSerif ",
        "LiberationSerif-Italic",
    ] {
        let row = rows
            .iter()
            .find(|r| r.contains(style))
            .unwrap_or_else(|| panic!("{style} missing:\n{fonts}"));
        let cols: Vec<&str> = row.split_whitespace().collect();
        // name type type encoding emb sub uni obj gen
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], &["yes", "yes", "yes"], "{row}");
    }
}

#[test]
fn draft_leaves_number_and_date_blank() {
    let mut m = sample::minutes();
    m.number = None;
    m.signed_date = None;
    let text = pdftotext(&minutes_pdf(&m).expect("render").bytes);
    assert!(text.contains("/BB-UBND"));
    assert!(!text.contains("07/BB-UBND"));
    assert!(flat(&text).contains("Phú Thọ, ngày tháng năm"));
}

#[test]
fn decomposed_input_is_printed_composed() {
    let mut m = sample::minutes();
    m.chair.full_name = "Nguye\u{302}\u{303}n Thi\u{323} Hu\u{31b}o\u{31b}\u{300}ng".into();
    let text = pdftotext(&minutes_pdf(&m).expect("render").bytes);
    assert!(text.contains("Nguyễn Thị Hường"), "{text}");
}

#[test]
fn notice_has_its_number_table_and_recipients() {
    let text = flat(&pdftotext(
        &notice_pdf(&sample::notice()).expect("render").bytes,
    ));
    for expected in [
        "Số: 12/TB-UBND",
        "Phú Thọ, ngày 08 tháng 3 năm 2025",
        "THÔNG BÁO",
        "Kết luận của Phó Chủ tịch Ủy ban nhân dân tỉnh Nguyễn Thị Hường tại cuộc họp trực tuyến về phòng, chống thiên tai năm 2025",
        "STT",
        "Đơn vị chủ trì",
        "Đơn vị phối hợp",
        "Thời hạn",
        "15/03/2025",
        "Nơi nhận:",
        "- Lưu: VT.",
        "TL. CHỦ TỊCH",
        "CHÁNH VĂN PHÒNG",
        "Trần Minh Đức",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn oversized_input_is_refused_with_a_clear_error() {
    let mut m = sample::minutes();
    m.conclusions = vec!["x".repeat(bridge_minutes::MAX_TEXT_BYTES + 1)];
    match minutes_pdf(&m) {
        Err(RenderError::TooLarge { limit, .. }) => {
            assert_eq!(limit, bridge_minutes::MAX_TEXT_BYTES)
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn long_minutes_run_onto_numbered_pages() {
    let mut m = sample::minutes();
    m.conclusions = (1..=60)
        .map(|i| format!("Kết luận số {i}: giao các đơn vị triển khai thực hiện nghiêm túc."))
        .collect();
    let pdf = minutes_pdf(&m).expect("render");
    assert!(pdf.pages >= 3);
    let text = pdftotext(&pdf.bytes);
    let flat = flat(&text);
    assert!(flat.contains("Kết luận số 60: giao các đơn vị triển khai thực hiện nghiêm túc."));
    for (i, page) in text.split('\u{c}').enumerate().skip(1).take(pdf.pages - 1) {
        assert!(
            page.trim_start().starts_with(&(i + 1).to_string()),
            "page {}:\n{page}",
            i + 1
        );
    }
}
