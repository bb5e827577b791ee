//! Lays a `Document` out on A4 pages: wraps text with real font metrics, paginates, and
//! numbers pages from the second one (Decree 30: centred at the top). Pure: metrics come
//! in through `Measure`, positioned text and rules come out, the PDF writer only draws.

mod table;
mod wrap;

use crate::doc::{Align, Block, Column, Document, Para, Rule, Style};
pub use wrap::Measure;
use wrap::{Line, wrap};

const MM: f32 = 72.0 / 25.4;
/// Line height as a multiple of the font size (single spacing for Times-like faces).
const LEADING: f32 = 1.2;
/// Baseline below the top of a line box, as a multiple of the font size.
const ASCENT: f32 = 0.95;
const RULE_WIDTH: f32 = 0.6;
const PAGE_NUMBER_SIZE: f32 = 13.0;

/// A4 with the margins of Decree 30 (top 20, bottom 20, left 30, right 20 mm), in points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageSpec {
    pub width: f32,
    pub height: f32,
    pub top: f32,
    pub bottom: f32,
    pub left: f32,
    pub right: f32,
}

impl PageSpec {
    pub const A4_DECREE_30: PageSpec = PageSpec {
        width: 210.0 * MM,
        height: 297.0 * MM,
        top: 20.0 * MM,
        bottom: 20.0 * MM,
        left: 30.0 * MM,
        right: 20.0 * MM,
    };
    pub fn text_width(&self) -> f32 {
        self.width - self.left - self.right
    }
    fn body_bottom(&self) -> f32 {
        self.height - self.bottom
    }
}

/// Something to draw, in points from the page's top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        text: String,
        style: Style,
        size: f32,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
}

pub fn line_height(size: f32) -> f32 {
    size * LEADING
}

/// Pages under construction and the cursor on the current one.
struct Cursor<'a> {
    spec: PageSpec,
    measure: &'a dyn Measure,
    pages: Vec<Page>,
    y: f32,
}

impl Cursor<'_> {
    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }
    fn at_top(&self) -> bool {
        self.y <= self.spec.top
    }
    fn room(&self) -> f32 {
        self.spec.body_bottom() - self.y
    }
    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = self.spec.top;
    }
    fn push(&mut self, item: Item) {
        self.page().items.push(item);
    }
}

/// A paragraph wrapped to a width: its lines and the height it takes (without `before`).
struct Laid<'p> {
    para: &'p Para,
    lines: Vec<Line>,
}

impl Laid<'_> {
    fn height(&self) -> f32 {
        self.lines.len() as f32 * line_height(self.para.size) + self.rule_space()
    }
    fn rule_space(&self) -> f32 {
        if self.para.rule == Rule::None {
            0.0
        } else {
            4.0
        }
    }
}

fn lay<'p>(para: &'p Para, width: f32, m: &dyn Measure) -> Laid<'p> {
    Laid {
        para,
        lines: wrap(&para.runs, para.size, width, para.indent, m),
    }
}

/// Draws wrapped lines with the first one's top at `top` inside [x, x + width]. `first`
/// says whether `lines` starts the paragraph (and so takes the indent).
fn draw_lines(p: &Para, lines: &[Line], first: bool, x: f32, width: f32, top: f32) -> Vec<Item> {
    let lh = line_height(p.size);
    let mut items = Vec::new();
    let mut y = top;
    for (i, line) in lines.iter().enumerate() {
        let indent = if first && i == 0 { p.indent } else { 0.0 };
        let left = match p.align {
            Align::Left => x + indent,
            Align::Center => x + (width - line.width) / 2.0,
        };
        for seg in &line.segments {
            items.push(Item::Text {
                x: left + seg.x,
                y: y + p.size * ASCENT,
                text: seg.text.clone(),
                style: seg.style,
                size: p.size,
            });
        }
        y += lh;
    }
    items
}

/// The rule under a paragraph whose last line ends at `bottom`.
fn rule_item(laid: &Laid, x: f32, width: f32, bottom: f32) -> Option<Item> {
    let p = laid.para;
    let widest = laid.lines.iter().map(|l| l.width).fold(0.0, f32::max);
    let len = match p.rule {
        Rule::None => return None,
        Rule::Third => widest / 3.0,
        Rule::Full => widest,
    };
    let centre = match p.align {
        Align::Center => x + width / 2.0,
        Align::Left => x + p.indent + widest / 2.0,
    };
    let y = bottom + 2.5;
    Some(Item::Line {
        x1: centre - len / 2.0,
        y1: y,
        x2: centre + len / 2.0,
        y2: y,
        width: RULE_WIDTH,
    })
}

fn place_para(c: &mut Cursor, para: &Para, next_min: f32) {
    let width = c.spec.text_width();
    let laid = lay(para, width, c.measure);
    let lh = line_height(para.size);
    if !c.at_top() {
        c.y += para.before;
    }
    // A heading goes to the next page with the first line of what it introduces.
    if para.keep_with_next && !c.at_top() && laid.height() + next_min > c.room() {
        c.new_page();
    }
    let mut start = 0;
    while start < laid.lines.len() {
        let fit = ((c.room() + 0.01) / lh).floor().max(0.0) as usize;
        if fit == 0 {
            if c.at_top() {
                // A line taller than the page body cannot happen at these sizes; place it
                // anyway rather than loop.
                let items = draw_lines(
                    para,
                    &laid.lines[start..=start],
                    start == 0,
                    c.spec.left,
                    width,
                    c.y,
                );
                c.page().items.extend(items);
                c.y += lh;
                start += 1;
                continue;
            }
            c.new_page();
            continue;
        }
        let end = (start + fit).min(laid.lines.len());
        let items = draw_lines(
            para,
            &laid.lines[start..end],
            start == 0,
            c.spec.left,
            width,
            c.y,
        );
        c.page().items.extend(items);
        c.y += (end - start) as f32 * lh;
        start = end;
    }
    if let Some(rule) = rule_item(&laid, c.spec.left, width, c.y) {
        c.push(rule);
    }
    c.y += laid.rule_space();
}

/// Columns are laid out side by side and kept on one page when they fit; a block taller
/// than a whole page (a very long "Nơi nhận" list) flows line by line instead.
fn place_columns(c: &mut Cursor, cols: &[Column]) {
    let total = c.spec.text_width();
    let mut x = c.spec.left;
    // (top relative to block, height, items relative to block top)
    let mut pieces: Vec<(f32, f32, Vec<Item>)> = Vec::new();
    let mut height: f32 = 0.0;
    for col in cols {
        let w = total * col.frac;
        let mut y = 0.0;
        for (i, para) in col.paras.iter().enumerate() {
            if i > 0 || !c.at_top() {
                y += para.before;
            }
            let laid = lay(para, w, c.measure);
            let lh = line_height(para.size);
            for (li, line) in laid.lines.iter().enumerate() {
                let items = draw_lines(para, std::slice::from_ref(line), li == 0, x, w, y);
                pieces.push((y, lh, items));
                y += lh;
            }
            // The rule travels with the paragraph's last line.
            if let (Some(rule), Some(last)) = (rule_item(&laid, x, w, y), pieces.last_mut()) {
                last.2.push(rule);
            }
            y += laid.rule_space();
        }
        height = height.max(y);
        x += w;
    }
    if height > c.room() && !c.at_top() && height <= c.spec.body_bottom() - c.spec.top {
        c.new_page();
    }
    pieces.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut origin = c.y;
    let mut shift = 0.0;
    for (top, h, items) in pieces {
        if origin + top - shift + h > c.spec.body_bottom() + 0.01
            && origin + top - shift > c.spec.top
        {
            c.new_page();
            shift = top;
            origin = c.y;
        }
        let dy = origin - shift;
        for item in items {
            c.push(offset(item, dy));
        }
    }
    c.y = origin - shift + height;
}

fn offset(item: Item, dy: f32) -> Item {
    match item {
        Item::Text {
            x,
            y,
            text,
            style,
            size,
        } => Item::Text {
            x,
            y: y + dy,
            text,
            style,
            size,
        },
        Item::Line {
            x1,
            y1,
            x2,
            y2,
            width,
        } => Item::Line {
            x1,
            y1: y1 + dy,
            x2,
            y2: y2 + dy,
            width,
        },
    }
}

/// Height of the first line of a block, for keep-with-next.
fn first_line(block: Option<&Block>) -> f32 {
    match block {
        Some(Block::Para(p)) => p.before + line_height(p.size),
        Some(Block::Table(t)) => 2.0 * (line_height(t.size) + 2.0 * table::PAD),
        _ => 0.0,
    }
}

pub fn layout(doc: &Document, spec: PageSpec, measure: &dyn Measure) -> Vec<Page> {
    let mut c = Cursor {
        spec,
        measure,
        pages: vec![Page::default()],
        y: spec.top,
    };
    for (i, block) in doc.blocks.iter().enumerate() {
        match block {
            Block::Para(p) => place_para(&mut c, p, first_line(doc.blocks.get(i + 1))),
            Block::Columns(cols) => place_columns(&mut c, cols),
            Block::Table(t) => table::place(&mut c, t),
        }
    }
    let mut pages = c.pages;
    let centre = spec.left + spec.text_width() / 2.0;
    for (n, page) in pages.iter_mut().enumerate().skip(1) {
        let text = (n + 1).to_string();
        let w = measure.width(&text, Style::Regular, PAGE_NUMBER_SIZE);
        page.items.push(Item::Text {
            x: centre - w / 2.0,
            y: spec.top / 2.0 + PAGE_NUMBER_SIZE / 2.0,
            text,
            style: Style::Regular,
            size: PAGE_NUMBER_SIZE,
        });
    }
    pages
}

#[cfg(test)]
mod tests;
