//! Pre-filled drafts built from the meeting (pure): the editor starts from what the
//! scheduler and the bridge already know instead of a blank form.

use bridge_minutes::{
    AgendaSection, Attendee, ConclusionNotice, Issuer, MeetingRef, Minutes, Person, vn,
};
use time::OffsetDateTime;

use super::types::NoticeDoc;
use crate::ids::UnitCode;
use crate::meetings::Meeting;
use crate::units::Unit;

/// What the bridge saw of one invited unit (from the attendance log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPresence {
    pub code: UnitCode,
    pub name: String,
    /// Periods its hall was connected.
    pub joined: Vec<(OffsetDateTime, OffsetDateTime)>,
    pub present: bool,
}

/// The name without its leading kind: "Tỉnh Phú Thọ" → "Phú Thọ".
fn bare_name(u: &Unit) -> &str {
    let kind_len = u.kind.chars().count();
    let head: String = u.name.chars().take(kind_len).collect();
    if !u.kind.is_empty() && head.to_lowercase() == u.kind.to_lowercase() {
        u.name[head.len()..].trim_start()
    } else {
        &u.name
    }
}

/// Words an office, a body or a title starts with or contains: an account named "Chủ
/// tịch UBND tỉnh" or "Văn phòng UBND tỉnh" is a role account, not a person. ("Đoàn" is
/// left out: it is a common family name.)
const OFFICE_WORDS: [&str; 29] = [
    "chủ tịch",
    "pct",
    "bí thư",
    "giám đốc",
    "chánh",
    "trưởng",
    "phó",
    "thư ký",
    "chuyên viên",
    "cán bộ",
    "lãnh đạo",
    "thường trực",
    "văn phòng",
    "ubnd",
    "hđnd",
    "ủy ban",
    "uỷ ban",
    "hội đồng",
    "sở",
    "phòng",
    "ban",
    "bộ phận",
    "tổ",
    "tỉnh",
    "huyện",
    "thành phố",
    "xã",
    "phường",
    "thị trấn",
];

fn has_office_word(s: &str) -> bool {
    let words: Vec<String> = s.split_whitespace().map(|w| w.to_lowercase()).collect();
    OFFICE_WORDS.iter().any(|o| {
        let parts: Vec<&str> = o.split(' ').collect();
        words
            .windows(parts.len())
            .any(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
    })
}

/// "Nguyễn Thị Hường": two to seven words, each a capitalised word of letters (not an
/// abbreviation such as "UBND"), and no office word.
fn is_person_name(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    (2..=7).contains(&words.len())
        && !has_office_word(s)
        && words.iter().all(|w| {
            let mut cs = w.chars();
            cs.next().is_some_and(char::is_uppercase)
                && w.chars().all(char::is_alphabetic)
                && !(w.chars().count() > 1 && w.chars().all(char::is_uppercase))
        })
}

/// What an account's display name says about the person behind it. Accounts here are
/// often an office's ("Văn phòng UBND tỉnh") or a title's ("Chủ tịch UBND tỉnh"): such a
/// name goes into the position, never into the person's name, which would print it as
/// the signer's name under CHỦ TỌA. A login name ("vp.tinh") fills neither.
pub fn person_from_account(display_name: &str) -> Person {
    let d = vn::nfc(display_name)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if is_person_name(&d) {
        Person {
            full_name: d,
            position: String::new(),
        }
    } else if has_office_word(&d) {
        Person {
            full_name: String::new(),
            position: d,
        }
    } else {
        Person {
            full_name: String::new(),
            position: String::new(),
        }
    }
}

/// The people's committee of the organizing unit, as most meetings here are its; every
/// field but the code stays editable in the draft.
pub fn issuer_for(org: &Unit) -> Issuer {
    let bare = bare_name(org);
    let name = if bare.len() < org.name.len() {
        format!("Ủy ban nhân dân {} {bare}", org.kind.to_lowercase())
    } else {
        format!("Ủy ban nhân dân {}", org.name)
    };
    Issuer {
        parent_name: None,
        name,
        abbrev: "UBND".into(),
        code: org.code.to_string(),
        place_name: bare.to_owned(),
    }
}

/// Biên bản pre-filled: title, times, place, chair, agenda items as sections, every
/// invited unit as an attendee with its connection periods.
pub fn minutes_draft(
    m: &Meeting,
    issuer: Issuer,
    chair: Person,
    secretary: Person,
    attendance: &[UnitPresence],
) -> Minutes {
    Minutes {
        issuer,
        number: None,
        meeting_title: m.title.clone(),
        started_at: m.starts_at,
        ended_at: m.ends_at,
        location: m.location.clone(),
        chair,
        secretary,
        attendees: attendance
            .iter()
            .map(|a| Attendee {
                unit_name: a.name.clone(),
                people: None,
                joined: a.joined.clone(),
                present: a.present,
            })
            .collect(),
        absent_note: None,
        items: m
            .agenda
            .iter()
            .map(|t| AgendaSection {
                title: t.clone(),
                content: Vec::new(),
            })
            .collect(),
        conclusions: Vec::new(),
        signed_date: None,
    }
}

/// Thông báo kết luận pre-filled: the meeting it concludes, signed by the chair.
pub fn notice_draft(m: &Meeting, issuer: Issuer, chair: Person) -> NoticeDoc {
    NoticeDoc {
        notice: ConclusionNotice {
            issuer,
            number: None,
            subject: String::new(),
            meeting: MeetingRef {
                title: m.title.clone(),
                date: vn::local(m.starts_at).date(),
                chair: chair.clone(),
            },
            body: Vec::new(),
            tasks: Vec::new(),
            recipients: vec!["Các đơn vị dự họp".into()],
            signer: chair,
            competence: None,
            signed_date: None,
        },
        tasks: Vec::new(),
    }
}

/// Thông báo kết luận pre-filled from the saved minutes: the chair they name signs, and
/// their conclusions are the notice's body (the secretary trims them into the notice's
/// wording rather than typing them a second time).
pub fn notice_from_minutes(m: &Meeting, issuer: Issuer, minutes: &Minutes) -> NoticeDoc {
    let mut doc = notice_draft(m, issuer, minutes.chair.clone());
    doc.notice.body = minutes
        .conclusions
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(kind: &str, name: &str) -> Unit {
        Unit {
            code: UnitCode::parse("25").unwrap(),
            parent: None,
            level: 1,
            kind: kind.into(),
            name: name.into(),
            path: "/25/".into(),
            lat: None,
            lon: None,
            room: UnitCode::parse("25").unwrap().room(),
        }
    }

    #[test]
    fn only_a_persons_name_goes_into_the_name_field() {
        let p = person_from_account("Nguyễn  Thị Hường ");
        assert_eq!(p.full_name, "Nguyễn Thị Hường");
        assert_eq!(p.position, "");
        assert_eq!(
            person_from_account("Đoàn Văn Hùng").full_name,
            "Đoàn Văn Hùng"
        );
        for title in [
            "Chủ tịch UBND tỉnh",
            "Văn phòng UBND tỉnh",
            "Phó Chủ tịch Ủy ban nhân dân tỉnh",
            "UBND Xã Yên Lãng",
            "Thư Ký Hội Nghị",
        ] {
            let p = person_from_account(title);
            assert_eq!(p.full_name, "", "{title}");
            assert_eq!(p.position, title);
        }
        for login in ["vp.tinh", "ct.tinh", "admin", "Nguyễn", ""] {
            let p = person_from_account(login);
            assert_eq!(
                (p.full_name.as_str(), p.position.as_str()),
                ("", ""),
                "{login}"
            );
        }
    }

    #[test]
    fn issuer_is_the_peoples_committee_of_the_organizer() {
        let i = issuer_for(&unit("tỉnh", "Tỉnh Phú Thọ"));
        assert_eq!(i.name, "Ủy ban nhân dân tỉnh Phú Thọ");
        assert_eq!(i.place_name, "Phú Thọ");
        assert_eq!(i.code, "25");
        let i = issuer_for(&unit("thành phố", "Thành phố Việt Trì"));
        assert_eq!(i.name, "Ủy ban nhân dân thành phố Việt Trì");
        let i = issuer_for(&unit("sở", "Văn phòng"));
        assert_eq!(i.name, "Ủy ban nhân dân Văn phòng");
        assert_eq!(i.place_name, "Văn phòng");
    }
}
