//! The DOCX opened by LibreOffice (headless) and read back as text.

mod common;

use bridge_minutes::docx::{minutes_docx, notice_docx};
use common::{flat, libreoffice_text, sample};

#[test]
fn minutes_docx_opens_in_libreoffice_with_the_vietnamese_text() {
    let text = flat(&libreoffice_text(
        &minutes_docx(&sample::minutes()).expect("docx"),
    ));
    for expected in [
        "ỦY BAN NHÂN DÂN TỈNH PHÚ THỌ",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Số: 07/BB-UBND",
        "Phú Thọ, ngày 07 tháng 3 năm 2025",
        "BIÊN BẢN",
        "Bà Hà Thị Ngọc Ánh",
        "Chủ trì (chủ tọa): Nguyễn Thị Hường",
        "Cuộc họp kết thúc vào 11 giờ 30, ngày 07 tháng 3 năm 2025./.",
        "THƯ KÝ",
        "Đặng Quốc Việt",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn notice_docx_has_the_task_table() {
    let text = flat(&libreoffice_text(
        &notice_docx(&sample::notice()).expect("docx"),
    ));
    for expected in [
        "Số: 12/TB-UBND",
        "Đơn vị phối hợp",
        "Mặt trận Tổ quốc huyện",
        "31/03/2025",
        "Nơi nhận:",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}
