//! iCalendar (RFC 5545) invitations with iTIP methods (RFC 5546) and the CONFERENCE
//! property (RFC 7986). Pure: the caller passes the meeting, units, join link and `now`.

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::meetings::range::hanoi;
use crate::meetings::{Meeting, VN_TZID};
use crate::units::Unit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// New or updated invitation; SEQUENCE = meeting version.
    Request,
    /// The meeting was cancelled.
    Cancel,
}

/// Everything one .ics file needs.
#[derive(Debug, Clone)]
pub struct IcsInput<'a> {
    pub meeting: &'a Meeting,
    pub organizer: &'a Unit,
    /// The invited unit this copy is for (its join link); `None` for the organizer's copy.
    pub attendee: Option<&'a Unit>,
    /// The unit's join link (carries its join token).
    pub join_url: Option<&'a str>,
    /// Domain for the calendar addresses of units (`unit-<code>@domain`); calendar clients
    /// need an address even when no mail is sent.
    pub mail_domain: &'a str,
    pub now: OffsetDateTime,
}

/// Escapes a TEXT value (§3.3.11): backslash, semicolon, comma and newlines.
pub fn escape_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            ';' => o.push_str("\\;"),
            ',' => o.push_str("\\,"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => o.push(c),
        }
    }
    o
}

/// A parameter value: DQUOTE is not representable, so it becomes a single quote; values
/// with ':' ';' ',' are quoted (§3.2).
fn param(s: &str) -> String {
    let clean: String = s
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if c == '"' { '\'' } else { c })
        .collect();
    if clean.contains([':', ';', ',']) {
        format!("\"{clean}\"")
    } else {
        clean
    }
}

/// URIs are not TEXT: no escaping, but control characters (line injection) are dropped.
fn uri(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// Folds one content line at 75 octets without splitting a UTF-8 sequence (§3.1).
pub fn fold_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 74 * 3);
    let mut width = 0usize;
    let mut limit = 75usize;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > limit {
            out.push_str("\r\n ");
            width = 1;
            limit = 75;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

fn stamp(l: PrimitiveDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        l.year(),
        l.month() as u8,
        l.day(),
        l.hour(),
        l.minute(),
        l.second()
    )
}

/// `t` in UTC. Stored times are UTC already; anything whose UTC form is past the calendar
/// (only a value built by hand) is written as the calendar's edge.
fn utc(t: OffsetDateTime) -> PrimitiveDateTime {
    match t.checked_to_offset(UtcOffset::UTC) {
        Some(u) => PrimitiveDateTime::new(u.date(), u.time()),
        None if t.unix_timestamp() > 0 => PrimitiveDateTime::MAX,
        None => PrimitiveDateTime::MIN,
    }
}

fn fmt_utc(t: OffsetDateTime) -> String {
    format!("{}Z", stamp(utc(t)))
}

/// A date-time property: local Hà Nội time with its TZID, or, for a stored time that has
/// no Hà Nội form (9999-12-31 23:59 UTC is year 10000 there), the same instant in UTC,
/// which RFC 5545 allows as well.
fn date_prop(name: &str, t: OffsetDateTime) -> String {
    match hanoi(t) {
        Some(l) => format!("{name};TZID={VN_TZID}:{}", stamp(l)),
        None => format!("{name}:{}", fmt_utc(t)),
    }
}

fn address(unit: &Unit, domain: &str) -> String {
    format!("mailto:unit-{}@{}", unit.code, uri(domain))
}

/// Renders a complete VCALENDAR with CRLF line ends and folded lines.
pub fn render(method: Method, i: &IcsInput<'_>) -> String {
    let m = i.meeting;
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//Bridge//Meeting Scheduler//VI".into(),
        "CALSCALE:GREGORIAN".into(),
        format!(
            "METHOD:{}",
            match method {
                Method::Request => "REQUEST",
                Method::Cancel => "CANCEL",
            }
        ),
        // Viet Nam has had UTC+7 without DST since 1975: one STANDARD block is exact.
        "BEGIN:VTIMEZONE".into(),
        format!("TZID:{VN_TZID}"),
        "BEGIN:STANDARD".into(),
        "DTSTART:19750613T000000".into(),
        "TZOFFSETFROM:+0700".into(),
        "TZOFFSETTO:+0700".into(),
        "TZNAME:ICT".into(),
        "END:STANDARD".into(),
        "END:VTIMEZONE".into(),
        "BEGIN:VEVENT".into(),
        format!("UID:{}@bridge", m.id),
        format!("DTSTAMP:{}", fmt_utc(i.now)),
        format!("SEQUENCE:{}", m.version),
        date_prop("DTSTART", m.starts_at),
        date_prop("DTEND", m.ends_at),
        format!("SUMMARY:{}", escape_text(&m.title)),
    ];
    let mut desc: Vec<String> = m
        .agenda
        .iter()
        .enumerate()
        .map(|(n, a)| format!("{}. {a}", n + 1))
        .collect();
    if let Some(url) = i.join_url {
        desc.push(format!("Tham gia / Join: {}", uri(url)));
    }
    if !desc.is_empty() {
        lines.push(format!("DESCRIPTION:{}", escape_text(&desc.join("\n"))));
    }
    if !m.location.is_empty() {
        lines.push(format!("LOCATION:{}", escape_text(&m.location)));
    }
    lines.push(format!(
        "ORGANIZER;CN={}:{}",
        param(&i.organizer.name),
        address(i.organizer, i.mail_domain)
    ));
    if let Some(a) = i.attendee {
        lines.push(format!(
            "ATTENDEE;CN={};CUTYPE=ROOM;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{}",
            param(&a.name),
            address(a, i.mail_domain)
        ));
    }
    if let Some(url) = i.join_url {
        lines.push(format!("URL:{}", uri(url)));
        lines.push(format!(
            "CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL={}:{}",
            param("Tham gia họp trực tuyến"),
            uri(url)
        ));
    }
    if m.urgent {
        lines.push("PRIORITY:1".into());
    }
    if let Some(r) = &m.recurrence {
        lines.push(format!("RRULE:{}", r.rrule));
        // TZID covers a whole line, so a stored value without a Hà Nội form goes on a
        // line of its own, in UTC.
        let local: Vec<String> = r
            .exdates
            .iter()
            .filter_map(|t| hanoi(*t))
            .map(stamp)
            .collect();
        let far: Vec<String> = r
            .exdates
            .iter()
            .filter(|t| hanoi(**t).is_none())
            .map(|t| fmt_utc(*t))
            .collect();
        if !local.is_empty() {
            lines.push(format!("EXDATE;TZID={VN_TZID}:{}", local.join(",")));
        }
        if !far.is_empty() {
            lines.push(format!("EXDATE:{}", far.join(",")));
        }
    }
    lines.push(match method {
        Method::Cancel => "STATUS:CANCELLED".into(),
        Method::Request => "STATUS:CONFIRMED".into(),
    });
    lines.push("END:VEVENT".into());
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold_line(l)).collect()
}
