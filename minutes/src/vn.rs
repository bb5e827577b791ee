//! Vietnamese administrative formats (Decree 30/2020/NĐ-CP, Appendix I): numbers, dates
//! and times as they are printed on the documents.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, UtcOffset};
use unicode_normalization::UnicodeNormalization;

use crate::model::DocNumber;

/// Vietnam keeps +07:00 all year (no daylight saving), so a fixed offset is exact.
pub const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// Vietnam's wall-clock time of `t`, or `None` when that is outside the calendar `time`
/// represents (9999-12-31 23:59 UTC is already year 10000 in Vietnam).
pub fn checked_local(t: OffsetDateTime) -> Option<PrimitiveDateTime> {
    t.checked_to_offset(VIETNAM)
        .map(|l| PrimitiveDateTime::new(l.date(), l.time()))
}

/// Vietnam's wall-clock time of `t` for printing. The scheduler refuses to save times
/// outside 2000..=2100, but a document saved by an older version or edited by hand may
/// hold one past the calendar's end: it prints as the calendar's last (or first) second
/// instead of stopping the render.
pub fn local(t: OffsetDateTime) -> PrimitiveDateTime {
    match checked_local(t) {
        Some(l) => l,
        None if t.unix_timestamp() > 0 => PrimitiveDateTime::MAX,
        None => PrimitiveDateTime::MIN,
    }
}

/// Text typed on some keyboards arrives decomposed (NFD); documents carry NFC so that a
/// search or a text extractor finds "Thọ" however it was typed.
pub fn nfc(s: &str) -> String {
    s.nfc().collect()
}

/// Decree 30: days below 10 and the months January and February take a leading zero.
pub fn day(d: Date) -> String {
    format!("{:02}", d.day())
}

pub fn month(d: Date) -> String {
    match d.month() {
        Month::January => "01".into(),
        Month::February => "02".into(),
        m => (m as u8).to_string(),
    }
}

/// "ngày 07 tháng 3 năm 2025".
pub fn long_date(d: Date) -> String {
    format!("ngày {} tháng {} năm {}", day(d), month(d), d.year())
}

/// The italic line under the motto: "Phú Thọ, ngày 07 tháng 3 năm 2025"; a draft leaves
/// the date blank to be written in by hand.
pub fn date_line(place: &str, date: Option<Date>) -> String {
    match date {
        Some(d) => format!("{}, {}", nfc(place), long_date(d)),
        None => format!("{}, ngày      tháng      năm      ", nfc(place)),
    }
}

/// "08 giờ 05".
pub fn clock(t: PrimitiveDateTime) -> String {
    format!("{:02} giờ {:02}", t.hour(), t.minute())
}

/// "08:05" for the short attendance intervals.
pub fn hhmm(t: PrimitiveDateTime) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// Ký hiệu, e.g. "BB-UBND".
pub fn notation(kind: &str, abbrev: &str) -> String {
    format!("{kind}-{}", nfc(abbrev))
}

/// "Số: 07/BB-UBND"; numbers below 10 take a leading zero. A draft has no number yet.
pub fn number_line(number: Option<DocNumber>, kind: &str, abbrev: &str) -> String {
    match number {
        Some(n) => format!("Số: {:02}/{}", n.seq, notation(kind, abbrev)),
        None => format!("Số:      /{}", notation(kind, abbrev)),
    }
}

/// Capitals as Vietnamese prints them (Rust's mapping keeps the tone marks).
pub fn caps(s: &str) -> String {
    nfc(s).to_uppercase()
}

/// Words that open an administrative level's name ("tỉnh Phú Thọ", "thị xã Phú Thọ"),
/// lower case; two-word ones first so "thị xã" is not read as "thị".
const LEVELS: [&str; 9] = [
    "thành phố",
    "thị xã",
    "thị trấn",
    "đặc khu",
    "tỉnh",
    "huyện",
    "quận",
    "phường",
    "xã",
];

/// Where an issuing body's name is broken on the header's two lines (Decree 30,
/// Appendix I): between the kind of body and the place it belongs to, "ỦY BAN NHÂN DÂN"
/// / "TỈNH PHÚ THỌ", so a proper name ("PHÚ THỌ") never ends up split or alone. The
/// break goes before the first level word ("tỉnh", "huyện", "xã", …) that is not the
/// name's first word; a name without one stays a single line.
pub fn issuer_lines(name: &str) -> Vec<String> {
    let name = nfc(name);
    let words: Vec<&str> = name.split_whitespace().collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let starts_level = |i: usize| {
        LEVELS.iter().any(|level| {
            let parts: Vec<&str> = level.split(' ').collect();
            i + parts.len() <= words.len()
                && parts.iter().enumerate().all(|(k, p)| lower[i + k] == *p)
        })
    };
    // A level word as the last word is a suffix, not the start of a place name.
    match (1..words.len().saturating_sub(1)).find(|&i| starts_level(i)) {
        Some(i) => vec![words[..i].join(" "), words[i..].join(" ")],
        None if words.is_empty() => Vec::new(),
        None => vec![words.join(" ")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn leading_zeros_follow_decree_30() {
        assert_eq!(long_date(date!(2025 - 03 - 07)), "ngày 07 tháng 3 năm 2025");
        assert_eq!(
            long_date(date!(2025 - 02 - 15)),
            "ngày 15 tháng 02 năm 2025"
        );
        assert_eq!(
            long_date(date!(2025 - 12 - 31)),
            "ngày 31 tháng 12 năm 2025"
        );
    }

    #[test]
    fn numbers() {
        let n = DocNumber { seq: 7, year: 2025 };
        assert_eq!(number_line(Some(n), "BB", "UBND"), "Số: 07/BB-UBND");
        let n = DocNumber {
            seq: 123,
            year: 2025,
        };
        assert_eq!(number_line(Some(n), "TB", "UBND"), "Số: 123/TB-UBND");
        assert_eq!(number_line(None, "BB", "UBND"), "Số:      /BB-UBND");
    }

    #[test]
    fn times_are_shown_in_vietnam() {
        let t = datetime!(2025-03-07 01:05 UTC);
        assert_eq!(clock(local(t)), "08 giờ 05");
    }

    #[test]
    fn times_past_the_calendar_are_clamped_not_a_panic() {
        // The last second `time` holds in UTC is already year 10000 in Vietnam.
        let edge = datetime!(9999-12-31 23:59:59 UTC);
        assert_eq!(checked_local(edge), None);
        assert_eq!(local(edge), PrimitiveDateTime::MAX);
        assert_eq!(long_date(local(edge).date()), "ngày 31 tháng 12 năm 9999");
        // The first one is representable (07:00 on -9999-01-01).
        let first = datetime!(-9999-01-01 00:00 UTC);
        assert_eq!(local(first).hour(), 7);
        // A value built with an offset whose UTC form is past the calendar, too.
        let west = datetime!(9999-12-31 23:00 -11:00);
        assert_eq!(local(west), PrimitiveDateTime::MAX);
        assert_eq!(
            clock(local(datetime!(2025-03-07 16:59:59 UTC))),
            "23 giờ 59"
        );
    }

    #[test]
    fn issuer_breaks_between_the_body_and_its_place() {
        let caps_lines =
            |s: &str| -> Vec<String> { issuer_lines(s).iter().map(|l| caps(l)).collect() };
        assert_eq!(
            caps_lines("Ủy ban nhân dân tỉnh Phú Thọ"),
            ["ỦY BAN NHÂN DÂN", "TỈNH PHÚ THỌ"]
        );
        assert_eq!(
            issuer_lines("Ủy ban nhân dân thành phố Việt Trì"),
            ["Ủy ban nhân dân", "thành phố Việt Trì"]
        );
        assert_eq!(
            issuer_lines("Ủy ban nhân dân thị xã Phú Thọ"),
            ["Ủy ban nhân dân", "thị xã Phú Thọ"]
        );
        assert_eq!(
            issuer_lines("Hội đồng nhân dân  xã Yên Lãng "),
            ["Hội đồng nhân dân", "xã Yên Lãng"]
        );
        // Typed in capitals, decomposed: still found.
        assert_eq!(
            issuer_lines("U\u{309}Y BAN NHÂN DÂN HUYỆN THANH SƠN"),
            ["ỦY BAN NHÂN DÂN", "HUYỆN THANH SƠN"]
        );
        // No level word, or only as the first or last word: one line, never a split name.
        assert_eq!(issuer_lines("Sở Tài chính"), ["Sở Tài chính"]);
        assert_eq!(issuer_lines("Tỉnh ủy Phú Thọ"), ["Tỉnh ủy Phú Thọ"]);
        assert_eq!(
            issuer_lines("Ủy ban nhân dân tỉnh"),
            ["Ủy ban nhân dân tỉnh"]
        );
        assert!(issuer_lines("  ").is_empty());
    }

    #[test]
    fn decomposed_input_is_composed_and_capitalised() {
        let nfd = "Phu\u{301} Tho\u{323}, vie\u{302}\u{323}t"; // base letters + combining marks
        assert_eq!(nfc(nfd), "Phú Thọ, việt");
        assert_eq!(
            caps("ủy ban nhân dân tỉnh phú thọ"),
            "ỦY BAN NHÂN DÂN TỈNH PHÚ THỌ"
        );
    }
}
