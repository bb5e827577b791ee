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
