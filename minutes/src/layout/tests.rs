use super::*;
use crate::doc::{Cell, Table};

/// Every character half an em wide: enough to check breaking and pagination.
struct Mono;
impl Measure for Mono {
    fn width(&self, text: &str, _: Style, size: f32) -> f32 {
        text.chars().count() as f32 * size * 0.5
    }
}

fn texts(page: &Page) -> Vec<(f32, f32, String)> {
    page.items
        .iter()
        .filter_map(|i| match i {
            Item::Text { x, y, text, .. } => Some((*x, *y, text.clone())),
            _ => None,
        })
        .collect()
}

fn doc(blocks: Vec<Block>) -> Document {
    Document {
        title: "t".into(),
        blocks,
    }
}

#[test]
fn lines_stay_inside_the_margins_and_keep_every_word() {
    let words: Vec<String> = (0..300).map(|i| format!("từ{i}")).collect();
    let text = words.join(" ");
    let spec = PageSpec::A4_DECREE_30;
    let pages = layout(
        &doc(vec![Block::Para(Para::body(text.clone()))]),
        spec,
        &Mono,
    );
    let mut joined = Vec::new();
    for (x, _, t) in texts(&pages[0]) {
        assert!(x >= spec.left - 0.01);
        assert!(x + Mono.width(&t, Style::Regular, 14.0) <= spec.width - spec.right + 0.01);
        joined.push(t);
    }
    assert_eq!(joined.join(" "), text);
}

#[test]
fn long_documents_paginate_with_numbers_from_page_two_at_the_top() {
    let blocks = (0..80)
        .map(|i| Block::Para(Para::body(format!("Đoạn {i} ").repeat(20))))
        .collect();
    let spec = PageSpec::A4_DECREE_30;
    let pages = layout(&doc(blocks), spec, &Mono);
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert!(!texts(&pages[0]).iter().any(|(_, _, t)| t == "1"));
    for (n, page) in pages.iter().enumerate().skip(1) {
        let number = (n + 1).to_string();
        let (x, y, _) = texts(page)
            .into_iter()
            .find(|(_, _, t)| *t == number)
            .expect("page number");
        assert!(y < spec.top, "page number in the top margin");
        let centre = x + Mono.width(&number, Style::Regular, 13.0) / 2.0;
        assert!((centre - (spec.left + spec.text_width() / 2.0)).abs() < 0.5);
    }
    for page in &pages {
        for (_, y, _) in texts(page) {
            assert!(y <= spec.height - spec.bottom);
        }
    }
}

#[test]
fn columns_are_kept_together_on_the_next_page() {
    let mut blocks: Vec<Block> = (0..38)
        .map(|_| Block::Para(Para::new("dòng", Style::Regular, 14.0)))
        .collect();
    let col = |name: &str| Column {
        frac: 0.5,
        paras: vec![
            Para::new(name, Style::Bold, 13.0).center(),
            Para::new("Họ tên", Style::Bold, 13.0).center().before(72.0),
        ],
    };
    blocks.push(Block::Columns(vec![col("THƯ KÝ"), col("CHỦ TỌA")]));
    let pages = layout(&doc(blocks), PageSpec::A4_DECREE_30, &Mono);
    assert_eq!(pages.len(), 2);
    let second: Vec<String> = texts(&pages[1]).into_iter().map(|t| t.2).collect();
    assert!(second.contains(&"THƯ KÝ".to_string()) && second.contains(&"Họ tên".to_string()));
}

#[test]
fn table_header_repeats_on_each_page() {
    let rows = (0..120)
        .map(|i| {
            vec![
                Cell {
                    text: i.to_string(),
                    align: Align::Center,
                },
                Cell {
                    text: "Nhiệm vụ".into(),
                    align: Align::Left,
                },
            ]
        })
        .collect();
    let t = Table {
        widths: vec![0.2, 0.8],
        header: vec!["STT".into(), "Nội dung".into()],
        rows,
        size: 12.0,
    };
    let pages = layout(&doc(vec![Block::Table(t)]), PageSpec::A4_DECREE_30, &Mono);
    assert!(pages.len() >= 2);
    for page in &pages {
        assert!(texts(page).iter().any(|t| t.2 == "STT"));
    }
    let all: Vec<String> = pages.iter().flat_map(texts).map(|t| t.2).collect();
    assert!(all.contains(&"119".to_string()));
}

#[test]
fn a_word_longer_than_the_line_is_cut_not_lost() {
    let long = "x".repeat(200);
    let pages = layout(
        &doc(vec![Block::Para(Para::new(
            long.clone(),
            Style::Regular,
            14.0,
        ))]),
        PageSpec::A4_DECREE_30,
        &Mono,
    );
    let joined: String = texts(&pages[0]).into_iter().map(|t| t.2).collect();
    assert_eq!(joined, long);
}
