//! The wording and order of the two documents: minutes per form 1.9 of Decree 30
//! (Appendix III) and the conclusion notice, as blocks for the PDF and DOCX writers.

use crate::doc::{Align, BODY, Block, Cell, Column, Document, Para, Rule, Style, Table};
use crate::model::{Attendee, ConclusionNotice, Issuer, Minutes, Person};
use crate::vn::{self, caps, nfc};

const HEADER: f32 = 13.0;
const NATIONAL: f32 = 12.0;
/// Room left for the handwritten or stamped signature.
const SIGNATURE_SPACE: f32 = 72.0;

pub const NATIONAL_TITLE: &str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM";
pub const MOTTO: &str = "Độc lập - Tự do - Hạnh phúc";
/// Printed at the top right of every document not yet issued, so a copy that leaves the
/// office cannot be taken for the issued text.
pub const DRAFT_MARK: &str = "DỰ THẢO";
/// A blank to be written in by hand, as printed forms have it: an empty field prints
/// this (after its label) instead of a lone "." or ", ".
pub const PEN: &str = "……………………………………";

/// The field's text in NFC, or None when nothing but spaces was typed.
fn filled(s: &str) -> Option<String> {
    let t = nfc(s.trim());
    (!t.is_empty()).then_some(t)
}

/// A sentence-like field ends with one full stop, whether or not one was typed.
fn with_stop(s: &str) -> String {
    format!("{}.", s.trim_end_matches(['.', ' ', ',', ';']))
}

/// "Name, position." with whichever of the two is known; the pen's blank when neither is.
fn person_line(p: &Person) -> String {
    let parts: Vec<String> = [&p.full_name, &p.position]
        .into_iter()
        .filter_map(|s| filled(s))
        .collect();
    if parts.is_empty() {
        PEN.to_string()
    } else {
        with_stop(&parts.join(", "))
    }
}

/// "Phó Chủ tịch Ủy ban nhân dân tỉnh Nguyễn Thị Hường" as the notice names its chair,
/// with whichever part is known; None when neither is.
fn chair_phrase(p: &Person) -> Option<String> {
    let parts: Vec<String> = [&p.position, &p.full_name]
        .into_iter()
        .filter_map(|s| filled(s))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The "DỰ THẢO" mark in a box-less line at the top right, above the header.
fn draft_mark() -> Block {
    Block::Columns(vec![
        Column {
            frac: 0.6,
            paras: vec![Para::new("", Style::Regular, HEADER)],
        },
        Column {
            frac: 0.4,
            paras: vec![Para::new(DRAFT_MARK, Style::Bold, HEADER).center()],
        },
    ])
}

/// The two-column header of every administrative document, then the number and the
/// date line on one row.
fn header(issuer: &Issuer, number_line: String, date_line: String, draft: bool) -> Vec<Block> {
    let mut left = Vec::new();
    if let Some(parent) = issuer.parent_name.as_deref() {
        for line in vn::issuer_lines(parent) {
            left.push(Para::new(caps(&line), Style::Regular, HEADER).center());
        }
    }
    // Each line its own paragraph so the break falls where Decree 30 puts it, not where
    // the column happens to be full; the rule goes under the last line.
    let name = vn::issuer_lines(&issuer.name);
    let last = name.len().saturating_sub(1);
    for (i, line) in name.iter().enumerate() {
        let p = Para::new(caps(line), Style::Bold, HEADER).center();
        left.push(if i == last { p.rule(Rule::Third) } else { p });
    }
    let right = vec![
        Para::new(NATIONAL_TITLE, Style::Bold, NATIONAL).center(),
        Para::new(MOTTO, Style::Bold, HEADER)
            .center()
            .rule(Rule::Full),
    ];
    let mut blocks = Vec::new();
    if draft {
        blocks.push(draft_mark());
    }
    blocks.extend([
        Block::Columns(vec![
            Column {
                frac: 0.4,
                paras: left,
            },
            Column {
                frac: 0.6,
                paras: right,
            },
        ]),
        Block::Columns(vec![
            Column {
                frac: 0.4,
                paras: vec![
                    Para::new(number_line, Style::Regular, HEADER)
                        .center()
                        .before(8.0),
                ],
            },
            Column {
                frac: 0.6,
                paras: vec![
                    Para::new(date_line, Style::Italic, HEADER)
                        .center()
                        .before(8.0),
                ],
            },
        ]),
    ]);
    blocks
}

fn label(label: &str, value: String) -> Para {
    Para::new(label, Style::Bold, BODY)
        .run(value, Style::Regular)
        .indent()
        .before(6.0)
}

fn attendee_line(a: &Attendee) -> String {
    let mut s = format!("- {}", nfc(a.unit_name.trim()));
    if let Some(p) = a.people.as_deref().and_then(filled) {
        s.push_str(": ");
        s.push_str(p.trim_end_matches([',', ';', '.', ' ']));
    }
    if !a.joined.is_empty() {
        let spans: Vec<String> = a
            .joined
            .iter()
            .map(|&(s, e)| format!("{}–{}", vn::hhmm(vn::local(s)), vn::hhmm(vn::local(e))))
            .collect();
        s.push_str(&format!(" (trực tuyến {})", spans.join(", ")));
    }
    s.push(';');
    s
}

pub fn minutes(m: &Minutes) -> Document {
    let mut b = header(
        &m.issuer,
        vn::number_line(m.number, "BB", &m.issuer.abbrev),
        vn::date_line(&m.issuer.place_name, m.signed_date),
        !m.is_final(),
    );
    b.push(Block::Para(
        Para::new("BIÊN BẢN", Style::Bold, BODY)
            .center()
            .before(24.0),
    ));
    if let Some(title) = filled(&m.meeting_title) {
        b.push(Block::Para(
            Para::new(title, Style::Bold, BODY)
                .center()
                .rule(Rule::Third),
        ));
    }
    let start = vn::local(m.started_at);
    b.push(Block::Para(
        label(
            "Thời gian bắt đầu: ",
            format!("{}, {}.", vn::clock(start), vn::long_date(start.date())),
        )
        .before(18.0),
    ));
    // The place is part of form 1.9: a blank one is left to be written in by hand.
    b.push(Block::Para(label(
        "Địa điểm: ",
        filled(&m.location).map_or_else(|| PEN.to_string(), |l| with_stop(&l)),
    )));
    b.push(Block::Para(label("Thành phần tham dự:", String::new())));
    for a in m.attendees.iter().filter(|a| a.present) {
        b.push(Block::Para(Para::body(attendee_line(a)).before(2.0)));
    }
    let absent: Vec<String> = m
        .attendees
        .iter()
        .filter(|a| !a.present)
        .filter_map(|a| filled(&a.unit_name))
        .collect();
    if !absent.is_empty() {
        b.push(Block::Para(label(
            "Vắng mặt: ",
            format!("{}.", absent.join(", ")),
        )));
    }
    if let Some(note) = m.absent_note.as_deref().filter(|n| !n.trim().is_empty()) {
        b.push(Block::Para(Para::body(nfc(note))));
    }
    // Chair and secretary are part of the form too: blanks for the pen when unknown.
    b.push(Block::Para(label(
        "Chủ trì (chủ tọa): ",
        person_line(&m.chair),
    )));
    b.push(Block::Para(label(
        "Thư ký (người ghi biên bản): ",
        person_line(&m.secretary),
    )));
    b.push(Block::Para(
        label("Nội dung cuộc họp:", String::new()).keep(),
    ));
    for (i, item) in m.items.iter().enumerate() {
        b.push(Block::Para(
            Para::new(
                match filled(&item.title) {
                    Some(t) => format!("{}. {t}", i + 1),
                    None => format!("{}.", i + 1),
                },
                Style::Bold,
                BODY,
            )
            .indent()
            .before(6.0)
            .keep(),
        ));
        for p in item.content.iter().filter_map(|p| filled(p)) {
            b.push(Block::Para(Para::body(p)));
        }
    }
    let conclusions: Vec<String> = m.conclusions.iter().filter_map(|p| filled(p)).collect();
    if !conclusions.is_empty() {
        b.push(Block::Para(label("Kết luận:", String::new()).keep()));
        for p in conclusions {
            b.push(Block::Para(Para::body(p)));
        }
    }
    let end = vn::local(m.ended_at);
    b.push(Block::Para(Para::body(format!(
        "Cuộc họp kết thúc vào {}, {}./.",
        vn::clock(end),
        vn::long_date(end.date())
    ))));
    b.push(signatures(
        Column {
            frac: 0.5,
            paras: signer_block(
                None,
                "THƯ KÝ",
                Some(&m.secretary.position),
                &m.secretary.full_name,
            ),
        },
        Column {
            frac: 0.5,
            paras: signer_block(None, "CHỦ TỌA", Some(&m.chair.position), &m.chair.full_name),
        },
    ));
    Document {
        title: format!("Biên bản {}", nfc(&m.meeting_title)),
        blocks: b,
    }
}

/// A signature block: competence ("TL. CHỦ TỊCH"), the role or position in capitals,
/// the position under a role ("CHỦ TỌA" / "Phó Chủ tịch Ủy ban nhân dân tỉnh"), the space
/// for the signature, and the name. An unknown name leaves its line empty for the pen;
/// an unknown position prints nothing rather than an empty comma.
fn signer_block(
    competence: Option<&str>,
    title: &str,
    position: Option<&str>,
    name: &str,
) -> Vec<Para> {
    let mut v = Vec::new();
    if let Some(c) = competence.and_then(filled) {
        v.push(Para::new(caps(&c), Style::Bold, HEADER).center());
    }
    if let Some(t) = filled(title) {
        v.push(Para::new(caps(&t), Style::Bold, HEADER).center());
    }
    if let Some(p) = position.and_then(filled) {
        v.push(Para::new(p, Style::Italic, HEADER).center());
    }
    v.push(
        Para::new(filled(name).unwrap_or_default(), Style::Bold, HEADER)
            .center()
            .before(SIGNATURE_SPACE),
    );
    v
}

fn signatures(left: Column, right: Column) -> Block {
    let mut left = left;
    if let Some(first) = left.paras.first_mut() {
        first.before = 18.0;
    }
    let mut right = right;
    if let Some(first) = right.paras.first_mut() {
        first.before = 18.0;
    }
    Block::Columns(vec![left, right])
}

/// The subject under "THÔNG BÁO": the given one, or "Kết luận của <chair> tại cuộc họp
/// <meeting>".
pub fn notice_subject(n: &ConclusionNotice) -> String {
    if let Some(s) = filled(&n.subject) {
        return s;
    }
    let meeting = filled(&n.meeting.title)
        .map(|t| format!(" tại cuộc họp {t}"))
        .unwrap_or_default();
    match chair_phrase(&n.meeting.chair) {
        Some(chair) => format!("Kết luận của {chair}{meeting}"),
        None => format!("Kết luận{meeting}"),
    }
}

fn capitalise_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Deadlines in the task table are written dd/mm/yyyy.
fn short_date(d: time::Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), d.month() as u8, d.year())
}

pub fn notice(n: &ConclusionNotice) -> Document {
    let mut b = header(
        &n.issuer,
        vn::number_line(n.number, "TB", &n.issuer.abbrev),
        vn::date_line(&n.issuer.place_name, n.signed_date),
        n.number.is_none() || n.signed_date.is_none(),
    );
    b.push(Block::Para(
        Para::new("THÔNG BÁO", Style::Bold, BODY)
            .center()
            .before(24.0),
    ));
    b.push(Block::Para(
        Para::new(notice_subject(n), Style::Bold, BODY)
            .center()
            .rule(Rule::Third),
    ));
    let date = capitalise_first(&vn::long_date(n.meeting.date));
    let meeting = filled(&n.meeting.title)
        .map(|t| format!("cuộc họp {t}"))
        .unwrap_or_else(|| "cuộc họp".to_string());
    let opening = match chair_phrase(&n.meeting.chair) {
        Some(chair) => format!(
            "{date}, {chair} chủ trì {meeting}. Sau khi nghe báo cáo và ý kiến của các đại biểu dự họp, {chair} kết luận như sau:"
        ),
        None => format!(
            "{date}, {meeting} đã được tổ chức. Sau khi nghe báo cáo và ý kiến của các đại biểu dự họp, chủ trì cuộc họp kết luận như sau:"
        ),
    };
    b.push(Block::Para(Para::body(opening).before(18.0)));
    for p in n.body.iter().filter_map(|p| filled(p)) {
        b.push(Block::Para(Para::body(p)));
    }
    if !n.tasks.is_empty() {
        b.push(Block::Para(
            Para::new("Phân công thực hiện:", Style::Bold, BODY)
                .indent()
                .before(6.0)
                .keep(),
        ));
        let rows = n
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                vec![
                    Cell {
                        text: (i + 1).to_string(),
                        align: Align::Center,
                    },
                    Cell {
                        text: nfc(&t.title),
                        align: Align::Left,
                    },
                    Cell {
                        text: nfc(&t.lead_unit),
                        align: Align::Left,
                    },
                    Cell {
                        text: nfc(&t.supporting_units.join(", ")),
                        align: Align::Left,
                    },
                    Cell {
                        text: short_date(t.deadline),
                        align: Align::Center,
                    },
                ]
            })
            .collect();
        b.push(Block::Table(Table {
            widths: vec![0.08, 0.37, 0.2, 0.2, 0.15],
            header: [
                "STT",
                "Nội dung",
                "Đơn vị chủ trì",
                "Đơn vị phối hợp",
                "Thời hạn",
            ]
            .map(String::from)
            .to_vec(),
            rows,
            size: 12.0,
        }));
    }
    b.push(Block::Para(Para::body(format!(
        "{} thông báo để các cơ quan, đơn vị liên quan biết, thực hiện./.",
        filled(&n.issuer.name).unwrap_or_else(|| "Cơ quan ban hành".to_string())
    ))));
    let mut recipients = vec![Para::new("Nơi nhận:", Style::BoldItalic, 12.0)];
    for r in n.recipients.iter().filter_map(|r| filled(r)) {
        recipients.push(Para::new(format!("- {r};"), Style::Regular, 11.0));
    }
    recipients.push(Para::new("- Lưu: VT.", Style::Regular, 11.0));
    b.push(signatures(
        Column {
            frac: 0.45,
            paras: recipients,
        },
        Column {
            frac: 0.55,
            paras: signer_block(
                n.competence.as_deref(),
                &n.signer.position,
                None,
                &n.signer.full_name,
            ),
        },
    ));
    Document {
        title: format!("Thông báo {}", notice_subject(n)),
        blocks: b,
    }
}

fn text_bytes(doc: &Document) -> usize {
    let para = |p: &Para| p.runs.iter().map(|r| r.text.len()).sum::<usize>();
    doc.blocks
        .iter()
        .map(|b| match b {
            Block::Para(p) => para(p),
            Block::Columns(cols) => cols.iter().flat_map(|c| &c.paras).map(para).sum(),
            Block::Table(t) => t.rows.iter().flatten().map(|c| c.text.len()).sum::<usize>(),
        })
        .sum()
}

/// Refuses documents above `MAX_TEXT_BYTES` before any layout work.
pub fn checked(doc: Document) -> Result<Document, crate::error::RenderError> {
    let bytes = text_bytes(&doc);
    if bytes > crate::error::MAX_TEXT_BYTES {
        return Err(crate::error::RenderError::TooLarge {
            bytes,
            limit: crate::error::MAX_TEXT_BYTES,
        });
    }
    Ok(doc)
}
