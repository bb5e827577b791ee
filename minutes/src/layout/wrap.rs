//! Greedy line breaking of styled runs at spaces. Spaces inside a line are kept as typed
//! (a draft's blank "Số:      /BB-UBND" must stay blank); the spaces at a break are
//! dropped. A word wider than the line is cut between characters.

use crate::doc::{Run, Style};

/// Advance width of a text in points, as the PDF writer will shape it.
pub trait Measure {
    fn width(&self, text: &str, style: Style, size: f32) -> f32;
}

/// Text of one style at an offset from the line's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub x: f32,
    pub text: String,
    pub style: Style,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub segments: Vec<Segment>,
    pub width: f32,
}

struct Token<'a> {
    text: &'a str,
    style: Style,
    space: bool,
}

fn tokens(runs: &[Run]) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    for run in runs {
        let mut start = 0;
        let mut in_space = None;
        for (i, ch) in run.text.char_indices() {
            let sp = ch == ' ';
            if in_space != Some(sp) {
                if i > start {
                    out.push(Token {
                        text: &run.text[start..i],
                        style: run.style,
                        space: in_space == Some(true),
                    });
                }
                start = i;
                in_space = Some(sp);
            }
        }
        if start < run.text.len() {
            out.push(Token {
                text: &run.text[start..],
                style: run.style,
                space: in_space == Some(true),
            });
        }
    }
    out
}

/// Pieces of a line before same-style neighbours are merged.
#[derive(Default)]
struct Builder {
    pieces: Vec<(String, Style)>,
    width: f32,
}

impl Builder {
    fn push(&mut self, text: &str, style: Style, w: f32) {
        match self.pieces.last_mut() {
            Some((t, s)) if *s == style => t.push_str(text),
            _ => self.pieces.push((text.to_string(), style)),
        }
        self.width += w;
    }
    fn finish(self, size: f32, m: &dyn Measure) -> Line {
        let mut x = 0.0;
        let mut segments = Vec::new();
        for (text, style) in self.pieces {
            let w = m.width(&text, style, size);
            segments.push(Segment { x, text, style });
            x += w;
        }
        Line { segments, width: x }
    }
}

/// Breaks `runs` into lines of at most `width` points; the first line is `indent`
/// shorter. An empty paragraph gives one empty line (it still takes its height).
pub fn wrap(runs: &[Run], size: f32, width: f32, indent: f32, m: &dyn Measure) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut cur = Builder::default();
    let mut pending: Vec<(&str, Style, f32)> = Vec::new();
    let avail = |lines: &Vec<Line>| {
        if lines.is_empty() {
            (width - indent).max(1.0)
        } else {
            width.max(1.0)
        }
    };
    for tok in tokens(runs) {
        let w = m.width(tok.text, tok.style, size);
        if tok.space {
            pending.push((tok.text, tok.style, w));
            continue;
        }
        let space_w: f32 = pending.iter().map(|p| p.2).sum();
        if !cur.pieces.is_empty() && cur.width + space_w + w > avail(&lines) {
            lines.push(std::mem::take(&mut cur).finish(size, m));
            pending.clear();
        }
        for (t, s, pw) in pending.drain(..) {
            cur.push(t, s, pw);
        }
        if cur.pieces.is_empty() && w > avail(&lines) {
            // Only a word longer than a whole line (a URL, a long code) gets cut.
            let mut chunk = String::new();
            for ch in tok.text.chars() {
                chunk.push(ch);
                if m.width(&chunk, tok.style, size) > avail(&lines) && chunk.chars().count() > 1 {
                    chunk.pop();
                    let cw = m.width(&chunk, tok.style, size);
                    cur.push(&chunk, tok.style, cw);
                    lines.push(std::mem::take(&mut cur).finish(size, m));
                    chunk = ch.to_string();
                }
            }
            let cw = m.width(&chunk, tok.style, size);
            cur.push(&chunk, tok.style, cw);
            continue;
        }
        cur.push(tok.text, tok.style, w);
    }
    // Trailing spaces are kept only on a line that has nothing else (a blank field).
    if cur.pieces.is_empty() {
        for (t, s, pw) in pending.drain(..) {
            cur.push(t, s, pw);
        }
    }
    if !cur.pieces.is_empty() || lines.is_empty() {
        lines.push(cur.finish(size, m));
    }
    lines
}
