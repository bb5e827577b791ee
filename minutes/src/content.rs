//! The wording and order of the two documents: minutes per form 1.9 of Decree 30
//! (Appendix III) and the conclusion notice, as blocks for the PDF and DOCX writers.

use crate::doc::{Align, BODY, Block, Cell, Column, Document, Para, Rule, Style, Table};
use crate::model::{Attendee, ConclusionNotice, Issuer, Minutes};
use crate::vn::{self, caps, nfc};

const HEADER: f32 = 13.0;
const NATIONAL: f32 = 12.0;
/// Room left for the handwritten or stamped signature.
const SIGNATURE_SPACE: f32 = 72.0;

pub const NATIONAL_TITLE: &str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM";
pub const MOTTO: &str = "Độc lập - Tự do - Hạnh phúc";

/// The two-column header of every administrative document, then the number and the
/// date line on one row.
fn header(issuer: &Issuer, number_line: String, date_line: String) -> Vec<Block> {
    let mut left = Vec::new();
    if let Some(parent) = issuer
        .parent_name
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        left.push(Para::new(caps(parent), Style::Regular, HEADER).center());
    }
    left.push(
        Para::new(caps(&issuer.name), Style::Bold, HEADER)
            .center()
            .rule(Rule::Third),
    );
    let right = vec![
        Para::new(NATIONAL_TITLE, Style::Bold, NATIONAL).center(),
        Para::new(MOTTO, Style::Bold, HEADER)
            .center()
            .rule(Rule::Full),
    ];
    vec![
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
    ]
}

fn label(label: &str, value: String) -> Para {
    Para::new(label, Style::Bold, BODY)
        .run(value, Style::Regular)
        .indent()
        .before(6.0)
}

fn attendee_line(a: &Attendee) -> String {
    let mut s = format!("- {}", nfc(&a.unit_name));
    if let Some(p) = a.people.as_deref().filter(|p| !p.trim().is_empty()) {
        s.push_str(": ");
        s.push_str(&nfc(p));
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
    );
    b.push(Block::Para(
        Para::new("BIÊN BẢN", Style::Bold, BODY)
            .center()
            .before(24.0),
    ));
    b.push(Block::Para(
        Para::new(nfc(&m.meeting_title), Style::Bold, BODY)
            .center()
            .rule(Rule::Third),
    ));
    let start = vn::local(m.started_at);
    b.push(Block::Para(
        label(
            "Thời gian bắt đầu: ",
            format!("{}, {}.", vn::clock(start), vn::long_date(start.date())),
        )
        .before(18.0),
    ));
    b.push(Block::Para(label(
        "Địa điểm: ",
        format!("{}.", nfc(&m.location)),
    )));
    b.push(Block::Para(label("Thành phần tham dự:", String::new())));
    for a in m.attendees.iter().filter(|a| a.present) {
        b.push(Block::Para(Para::body(attendee_line(a)).before(2.0)));
    }
    let absent: Vec<String> = m
        .attendees
        .iter()
        .filter(|a| !a.present)
        .map(|a| nfc(&a.unit_name))
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
    b.push(Block::Para(label(
        "Chủ trì (chủ tọa): ",
        format!("{}, {}.", nfc(&m.chair.full_name), nfc(&m.chair.position)),
    )));
    b.push(Block::Para(label(
        "Thư ký (người ghi biên bản): ",
        format!(
            "{}, {}.",
            nfc(&m.secretary.full_name),
            nfc(&m.secretary.position)
        ),
    )));
    b.push(Block::Para(
        label("Nội dung cuộc họp:", String::new()).keep(),
    ));
    for (i, item) in m.items.iter().enumerate() {
        b.push(Block::Para(
            Para::new(
                format!("{}. {}", i + 1, nfc(&item.title)),
                Style::Bold,
                BODY,
            )
            .indent()
            .before(6.0)
            .keep(),
        ));
        for p in &item.content {
            b.push(Block::Para(Para::body(nfc(p))));
        }
    }
    if !m.conclusions.is_empty() {
        b.push(Block::Para(label("Kết luận:", String::new()).keep()));
        for p in &m.conclusions {
            b.push(Block::Para(Para::body(nfc(p))));
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
            paras: signer_block(None, "THƯ KÝ", &m.secretary.full_name),
        },
        Column {
            frac: 0.5,
            paras: signer_block(None, "CHỦ TỌA", &m.chair.full_name),
        },
    ));
    Document {
        title: format!("Biên bản {}", nfc(&m.meeting_title)),
        blocks: b,
    }
}

fn signer_block(competence: Option<&str>, title: &str, name: &str) -> Vec<Para> {
    let mut v = Vec::new();
    if let Some(c) = competence.filter(|c| !c.trim().is_empty()) {
        v.push(Para::new(caps(c), Style::Bold, HEADER).center());
    }
    v.push(Para::new(caps(title), Style::Bold, HEADER).center());
    v.push(
        Para::new(nfc(name), Style::Bold, HEADER)
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
    if n.subject.trim().is_empty() {
        format!(
            "Kết luận của {} {} tại cuộc họp {}",
            nfc(&n.meeting.chair.position),
            nfc(&n.meeting.chair.full_name),
            nfc(&n.meeting.title)
        )
    } else {
        nfc(&n.subject)
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
    b.push(Block::Para(
        Para::body(format!(
            "{}, {} {} chủ trì cuộc họp {}. Sau khi nghe báo cáo và ý kiến của các đại biểu dự họp, {} {} kết luận như sau:",
            capitalise_first(&vn::long_date(n.meeting.date)),
            nfc(&n.meeting.chair.position),
            nfc(&n.meeting.chair.full_name),
            nfc(&n.meeting.title),
            nfc(&n.meeting.chair.position),
            nfc(&n.meeting.chair.full_name),
        ))
        .before(18.0),
    ));
    for p in &n.body {
        b.push(Block::Para(Para::body(nfc(p))));
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
        nfc(&n.issuer.name)
    ))));
    let mut recipients = vec![Para::new("Nơi nhận:", Style::BoldItalic, 12.0)];
    for r in &n.recipients {
        recipients.push(Para::new(format!("- {};", nfc(r)), Style::Regular, 11.0));
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
