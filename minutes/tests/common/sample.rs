//! A realistic meeting of the province, shared by the tests and the `render` example.

use bridge_minutes::*;
use time::macros::{date, datetime};

pub fn issuer() -> Issuer {
    Issuer {
        parent_name: None,
        name: "Ủy ban nhân dân tỉnh Phú Thọ".into(),
        abbrev: "UBND".into(),
        code: "000.00.00.H45".into(),
        place_name: "Phú Thọ".into(),
    }
}

pub fn chair() -> Person {
    Person {
        full_name: "Nguyễn Thị Hường".into(),
        position: "Phó Chủ tịch Ủy ban nhân dân tỉnh".into(),
    }
}

pub fn minutes() -> Minutes {
    Minutes {
        issuer: issuer(),
        number: Some(DocNumber { seq: 7, year: 2025 }),
        meeting_title: "Cuộc họp trực tuyến về phòng, chống thiên tai năm 2025".into(),
        started_at: datetime!(2025-03-07 08:00 +07:00),
        ended_at: datetime!(2025-03-07 11:30 +07:00),
        location: "Phòng họp trực tuyến, trụ sở Ủy ban nhân dân tỉnh, kết nối tới 13 huyện, thành, thị".into(),
        chair: chair(),
        secretary: Person {
            full_name: "Đặng Quốc Việt".into(),
            position: "Chuyên viên Văn phòng Ủy ban nhân dân tỉnh".into(),
        },
        attendees: vec![
            Attendee {
                unit_name: "Sở Nông nghiệp và Phát triển nông thôn".into(),
                people: Some("Ông Lê Văn Thắng, Giám đốc Sở".into()),
                joined: vec![],
                present: true,
            },
            Attendee {
                unit_name: "Ủy ban nhân dân huyện Thanh Sơn".into(),
                people: Some("Bà Hà Thị Ngọc Ánh, Chủ tịch".into()),
                joined: vec![
                    (datetime!(2025-03-07 08:02 +07:00), datetime!(2025-03-07 09:40 +07:00)),
                    (datetime!(2025-03-07 09:45 +07:00), datetime!(2025-03-07 11:30 +07:00)),
                ],
                present: true,
            },
            Attendee {
                unit_name: "Ủy ban nhân dân xã Yên Lãng".into(),
                people: Some("Ông Đinh Công Trứ, Phó Chủ tịch".into()),
                joined: vec![(datetime!(2025-03-07 01:01 UTC), datetime!(2025-03-07 04:29 UTC))],
                present: true,
            },
            Attendee {
                unit_name: "Ủy ban nhân dân xã Xuân Đài".into(),
                people: None,
                joined: vec![],
                present: false,
            },
        ],
        absent_note: Some("Ủy ban nhân dân xã Xuân Đài vắng mặt do mất điện diện rộng sau giông lốc.".into()),
        items: vec![
            AgendaSection {
                title: "Báo cáo tình hình thiệt hại do mưa đá, giông lốc".into(),
                content: vec![
                    "Giám đốc Sở Nông nghiệp và Phát triển nông thôn báo cáo: trận mưa đá đêm 05/3 làm hư hỏng 312 ngôi nhà, 45 ha lúa và hoa màu tại các huyện Thanh Sơn, Tân Sơn, Yên Lập; không có thiệt hại về người.".into(),
                    "Ủy ban nhân dân huyện Thanh Sơn đề nghị tỉnh hỗ trợ kinh phí khắc phục hậu quả, ưu tiên các hộ nghèo, gia đình chính sách; kiến nghị bổ sung vật tư dự phòng (bạt, tôn lợp) cho các xã vùng cao.".into(),
                ],
            },
            AgendaSection {
                title: "Ý kiến của các đại biểu".into(),
                content: vec![
                    "Các đại biểu thống nhất với báo cáo; đề nghị rà soát lại các điểm có nguy cơ sạt lở, lũ quét trước mùa mưa bão, kiểm tra hệ thống cảnh báo sớm và phương án sơ tán dân cư.".into(),
                ],
            },
        ],
        conclusions: vec![
            "Giao Sở Nông nghiệp và Phát triển nông thôn chủ trì, phối hợp với Sở Tài chính tổng hợp thiệt hại, đề xuất mức hỗ trợ trước ngày 15/3/2025.".into(),
            "Ủy ban nhân dân các huyện chỉ đạo các xã hoàn thành việc sửa chữa nhà ở cho các hộ bị thiệt hại trước ngày 31/3/2025.".into(),
        ],
        signed_date: Some(date!(2025 - 03 - 07)),
    }
}

pub fn notice() -> ConclusionNotice {
    ConclusionNotice {
        issuer: issuer(),
        number: Some(DocNumber { seq: 12, year: 2025 }),
        subject: String::new(),
        meeting: MeetingRef {
            title: "trực tuyến về phòng, chống thiên tai năm 2025".into(),
            date: date!(2025 - 03 - 07),
            chair: chair(),
        },
        body: vec![
            "Ủy ban nhân dân tỉnh đánh giá cao sự chủ động của các sở, ngành và địa phương trong công tác ứng phó, khắc phục hậu quả mưa đá, giông lốc vừa qua.".into(),
        ],
        tasks: vec![
            Task {
                title: "Tổng hợp thiệt hại, đề xuất mức hỗ trợ khắc phục hậu quả".into(),
                lead_unit: "Sở Nông nghiệp và Phát triển nông thôn".into(),
                supporting_units: vec!["Sở Tài chính".into(), "UBND các huyện".into()],
                deadline: date!(2025 - 03 - 15),
                status: TaskStatus::InProgress,
            },
            Task {
                title: "Sửa chữa nhà ở cho các hộ bị thiệt hại, ưu tiên hộ nghèo, gia đình chính sách".into(),
                lead_unit: "UBND huyện Thanh Sơn".into(),
                supporting_units: vec!["Mặt trận Tổ quốc huyện".into()],
                deadline: date!(2025 - 03 - 31),
                status: TaskStatus::Open,
            },
        ],
        recipients: vec![
            "Chủ tịch, các PCT UBND tỉnh".into(),
            "Các sở: Nông nghiệp và PTNT, Tài chính".into(),
            "UBND các huyện, thành, thị".into(),
        ],
        signer: Person {
            full_name: "Trần Minh Đức".into(),
            position: "Chánh Văn phòng".into(),
        },
        competence: Some("TL. Chủ tịch".into()),
        signed_date: Some(date!(2025 - 03 - 08)),
    }
}
