//! A document as a list of blocks (paragraphs, side-by-side columns, tables). The
//! minutes and the notice are built into this once (`content`), and the PDF and DOCX
//! writers each render it, so the two formats cannot drift apart in wording.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    Regular,
    Bold,
    Italic,
    BoldItalic,
}

impl Style {
    pub fn is_bold(self) -> bool {
        matches!(self, Style::Bold | Style::BoldItalic)
    }
    pub fn is_italic(self) -> bool {
        matches!(self, Style::Italic | Style::BoldItalic)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub text: String,
    pub style: Style,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
}

/// The horizontal rules of Decree 30: under the issuer's name a third of the line, under
/// the motto and the subject as long as the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    None,
    Third,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Para {
    pub runs: Vec<Run>,
    /// Font size in points.
    pub size: f32,
    pub align: Align,
    /// First-line indent in points.
    pub indent: f32,
    /// Extra space above, in points (dropped at the top of a page).
    pub before: f32,
    pub rule: Rule,
    /// Do not leave this paragraph alone at the bottom of a page (headings).
    pub keep_with_next: bool,
}

/// Default body size (Decree 30 allows 13–14 pt).
pub const BODY: f32 = 14.0;
/// First-line indent of body paragraphs: 1 cm.
pub const INDENT: f32 = 28.35;

impl Para {
    pub fn new(text: impl Into<String>, style: Style, size: f32) -> Self {
        Para {
            runs: vec![Run {
                text: text.into(),
                style,
            }],
            size,
            align: Align::Left,
            indent: 0.0,
            before: 0.0,
            rule: Rule::None,
            keep_with_next: false,
        }
    }

    /// A body paragraph: 14 pt, indented first line, 6 pt above.
    pub fn body(text: impl Into<String>) -> Self {
        Para::new(text, Style::Regular, BODY).indent().before(6.0)
    }

    pub fn run(mut self, text: impl Into<String>, style: Style) -> Self {
        self.runs.push(Run {
            text: text.into(),
            style,
        });
        self
    }
    pub fn center(mut self) -> Self {
        self.align = Align::Center;
        self
    }
    pub fn indent(mut self) -> Self {
        self.indent = INDENT;
        self
    }
    pub fn before(mut self, pt: f32) -> Self {
        self.before = pt;
        self
    }
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rule = rule;
        self
    }
    pub fn keep(mut self) -> Self {
        self.keep_with_next = true;
        self
    }
}

/// Side-by-side columns without borders (the header, the signature blocks); kept on one
/// page when they fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Share of the text width, 0..1.
    pub frac: f32,
    pub paras: Vec<Para>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub align: Align,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column shares of the text width, summing to 1.
    pub widths: Vec<f32>,
    /// Printed in bold and repeated at the top of every page the table runs onto.
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub size: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Para(Para),
    Columns(Vec<Column>),
    Table(Table),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Document title for the file's metadata.
    pub title: String,
    pub blocks: Vec<Block>,
}
