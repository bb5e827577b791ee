//! The two documents as data. Everything here is plain serde data so the scheduler can
//! store a draft as JSON and render it again later; rendering never mutates it.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// The issuing body as printed in the header and the document number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issuer {
    /// Cơ quan chủ quản (the body above the issuer), printed in plain capitals.
    pub parent_name: Option<String>,
    /// Cơ quan ban hành, printed in bold capitals.
    pub name: String,
    /// Abbreviation used in the number, e.g. "UBND" in "Số: 07/BB-UBND".
    pub abbrev: String,
    /// Unit code (mã định danh), the edXML `OrganId`.
    pub code: String,
    /// Địa danh of the date line, e.g. "Phú Thọ".
    pub place_name: String,
}

/// Sequence number of a document within the issuer's register for one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocNumber {
    pub seq: u32,
    pub year: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub full_name: String,
    /// Chức vụ, e.g. "Phó Chủ tịch Ủy ban nhân dân tỉnh".
    pub position: String,
}

/// One invited unit and what the bridge saw of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendee {
    pub unit_name: String,
    /// Who sat in for the unit, free text ("Ông Trần Văn B, Phó Chủ tịch").
    pub people: Option<String>,
    /// Periods the unit's hall was connected; empty for a unit in the room itself.
    #[serde(with = "intervals")]
    pub joined: Vec<(OffsetDateTime, OffsetDateTime)>,
    pub present: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaSection {
    pub title: String,
    /// Paragraphs, in order.
    pub content: Vec<String>,
}

/// Biên bản cuộc họp (Decree 30/2020/NĐ-CP, Appendix III, form 1.9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minutes {
    pub issuer: Issuer,
    /// None while the minutes are a draft: the number is left blank ("Số:    /BB-UBND").
    pub number: Option<DocNumber>,
    pub meeting_title: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: OffsetDateTime,
    pub location: String,
    pub chair: Person,
    pub secretary: Person,
    pub attendees: Vec<Attendee>,
    /// Reasons for absence or other remarks on attendance.
    pub absent_note: Option<String>,
    pub items: Vec<AgendaSection>,
    pub conclusions: Vec<String>,
    /// Date of the date line; None while a draft.
    #[serde(with = "iso_date::option")]
    pub signed_date: Option<Date>,
}

impl Minutes {
    /// Final minutes carry a number and a date; only those may be signed.
    pub fn is_final(&self) -> bool {
        self.number.is_some() && self.signed_date.is_some()
    }
}

/// Follow-up task stored state. Overdue is derived from the deadline, never stored, so a
/// task cannot be "overdue" and "done" at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    InProgress,
    Done,
}

/// What a task looks like on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EffectiveStatus {
    Open,
    InProgress,
    Done,
    Overdue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub title: String,
    pub lead_unit: String,
    pub supporting_units: Vec<String>,
    #[serde(with = "iso_date")]
    pub deadline: Date,
    pub status: TaskStatus,
}

impl Task {
    /// The status on `today` (a date in Vietnam time): not done and past its deadline
    /// means overdue.
    pub fn status_on(&self, today: Date) -> EffectiveStatus {
        match self.status {
            TaskStatus::Done => EffectiveStatus::Done,
            _ if today > self.deadline => EffectiveStatus::Overdue,
            TaskStatus::Open => EffectiveStatus::Open,
            TaskStatus::InProgress => EffectiveStatus::InProgress,
        }
    }
}

/// The meeting a notice concludes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingRef {
    pub title: String,
    #[serde(with = "iso_date")]
    pub date: Date,
    pub chair: Person,
}

/// Thông báo kết luận (ký hiệu TB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConclusionNotice {
    pub issuer: Issuer,
    pub number: Option<DocNumber>,
    /// Trích yếu; when empty the subject is built from the meeting and its chair.
    pub subject: String,
    pub meeting: MeetingRef,
    pub body: Vec<String>,
    pub tasks: Vec<Task>,
    /// "Nơi nhận:" lines, without the leading dash; "Lưu: VT" is appended.
    pub recipients: Vec<String>,
    pub signer: Person,
    /// Thẩm quyền ký printed above the signer's position, e.g. "TL. CHỦ TỊCH"; None
    /// when the signer signs in their own name.
    pub competence: Option<String>,
    #[serde(with = "iso_date::option")]
    pub signed_date: Option<Date>,
}

// Dates travel as "2026-11-29" (what an `<input type="date">` gives), not as time's
// default [year, ordinal] pair.
time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

mod intervals {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use time::OffsetDateTime;

    #[derive(Serialize, Deserialize)]
    struct Span {
        #[serde(with = "time::serde::rfc3339")]
        start: OffsetDateTime,
        #[serde(with = "time::serde::rfc3339")]
        end: OffsetDateTime,
    }

    pub fn serialize<S: Serializer>(
        v: &[(OffsetDateTime, OffsetDateTime)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let spans: Vec<Span> = v.iter().map(|&(start, end)| Span { start, end }).collect();
        spans.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(OffsetDateTime, OffsetDateTime)>, D::Error> {
        let spans = Vec::<Span>::deserialize(d)?;
        Ok(spans.into_iter().map(|s| (s.start, s.end)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn overdue_is_derived_from_the_deadline_and_never_hides_done() {
        let mut t = Task {
            title: "Báo cáo".into(),
            lead_unit: "Sở Tài chính".into(),
            supporting_units: vec![],
            deadline: date!(2025 - 03 - 15),
            status: TaskStatus::InProgress,
        };
        assert_eq!(
            t.status_on(date!(2025 - 03 - 15)),
            EffectiveStatus::InProgress
        );
        assert_eq!(t.status_on(date!(2025 - 03 - 16)), EffectiveStatus::Overdue);
        t.status = TaskStatus::Done;
        assert_eq!(t.status_on(date!(2025 - 04 - 01)), EffectiveStatus::Done);
    }

    #[test]
    fn round_trips_through_json() {
        let t = Task {
            title: "Sửa chữa nhà ở".into(),
            lead_unit: "UBND huyện".into(),
            supporting_units: vec!["Mặt trận".into()],
            deadline: date!(2025 - 03 - 31),
            status: TaskStatus::Open,
        };
        let json = serde_json::to_string(&t).expect("json");
        assert!(json.contains("\"open\""));
        assert_eq!(serde_json::from_str::<Task>(&json).expect("parse"), t);
    }
}
