//! Ruled tables (the notice's task list). Rows move whole to the next page when they do
//! not fit; a row taller than a page is split between lines. The header row is repeated
//! on every page the table runs onto.

use super::wrap::{Line, wrap};
use super::{ASCENT, Cursor, Item, line_height};
use crate::doc::{Align, Run, Style, Table};

/// Cell padding in points.
pub const PAD: f32 = 3.0;
const BORDER: f32 = 0.5;

struct Row {
    cells: Vec<(Vec<Line>, Align)>,
    bold: bool,
}

impl Row {
    fn lines(&self) -> usize {
        self.cells
            .iter()
            .map(|c| c.0.len())
            .max()
            .unwrap_or(1)
            .max(1)
    }
}

fn wrap_cell(text: &str, style: Style, size: f32, width: f32, c: &Cursor) -> Vec<Line> {
    let runs = [Run {
        text: text.to_string(),
        style,
    }];
    wrap(&runs, size, (width - 2.0 * PAD).max(1.0), 0.0, c.measure)
}

pub fn place(c: &mut Cursor, t: &Table) {
    let total = c.spec.text_width();
    let widths: Vec<f32> = t.widths.iter().map(|f| f * total).collect();
    let lh = line_height(t.size);
    let header = Row {
        cells: t
            .header
            .iter()
            .zip(&widths)
            .map(|(h, &w)| (wrap_cell(h, Style::Bold, t.size, w, c), Align::Center))
            .collect(),
        bold: true,
    };
    let rows: Vec<Row> = t
        .rows
        .iter()
        .map(|r| Row {
            cells: r
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| {
                    (
                        wrap_cell(&cell.text, Style::Regular, t.size, w, c),
                        cell.align,
                    )
                })
                .collect(),
            bold: false,
        })
        .collect();
    let height = |n: usize| n as f32 * lh + 2.0 * PAD;
    let header_h = height(header.lines());
    c.y += 6.0;
    // The header never stands alone at the bottom of a page.
    let first = rows.first().map_or(0.0, |r| height(r.lines()));
    if header_h + first > c.room() && !c.at_top() {
        c.new_page();
    }
    draw_row(c, &header, 0, header.lines(), &widths, t.size);
    for row in &rows {
        let mut start = 0;
        let mut just_broke = false;
        let n = row.lines();
        while start < n {
            let fits = ((c.room() - 2.0 * PAD + 0.01) / lh).floor().max(0.0) as usize;
            let whole_fits_fresh =
                height(n - start) + header_h <= c.spec.height - c.spec.top - c.spec.bottom;
            if !just_broke && fits < n - start && (fits == 0 || whole_fits_fresh) {
                c.new_page();
                draw_row(c, &header, 0, header.lines(), &widths, t.size);
                just_broke = true;
                continue;
            }
            // At least one line per page, so a pathological row cannot loop.
            let end = (start + fits.max(1)).min(n);
            draw_row(c, row, start, end, &widths, t.size);
            start = end;
            just_broke = false;
        }
    }
}

/// Draws lines `from..to` of every cell of a row with its borders at the cursor.
fn draw_row(c: &mut Cursor, row: &Row, from: usize, to: usize, widths: &[f32], size: f32) {
    let lh = line_height(size);
    let h = (to - from) as f32 * lh + 2.0 * PAD;
    let top = c.y;
    let mut x = c.spec.left;
    let right = c.spec.left + widths.iter().sum::<f32>();
    let mut items = vec![
        hline(x, right, top),
        hline(x, right, top + h),
        vline(x, top, top + h),
    ];
    for ((lines, align), &w) in row.cells.iter().zip(widths) {
        let end = to.min(lines.len());
        for (i, line) in lines.iter().enumerate().take(end).skip(from) {
            let lx = match align {
                Align::Left => x + PAD,
                Align::Center => x + (w - line.width) / 2.0,
            };
            let base = top + PAD + (i - from) as f32 * lh + size * ASCENT;
            for seg in &line.segments {
                items.push(Item::Text {
                    x: lx + seg.x,
                    y: base,
                    text: seg.text.clone(),
                    style: if row.bold { Style::Bold } else { seg.style },
                    size,
                });
            }
        }
        x += w;
        items.push(vline(x, top, top + h));
    }
    for item in items {
        c.push(item);
    }
    c.y = top + h;
}

fn hline(x1: f32, x2: f32, y: f32) -> Item {
    Item::Line {
        x1,
        y1: y,
        x2,
        y2: y,
        width: BORDER,
    }
}

fn vline(x: f32, y1: f32, y2: f32) -> Item {
    Item::Line {
        x1: x,
        y1,
        x2: x,
        y2,
        width: BORDER,
    }
}
