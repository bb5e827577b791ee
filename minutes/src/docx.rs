//! DOCX output of the same blocks as the PDF, for staff who edit in Word or LibreOffice:
//! A4 with Decree 30 margins, Times New Roman, borderless tables for the header and the
//! signature blocks, a ruled table for the tasks, page numbers at the top from page 2.

use std::io::Cursor;

use docx_rs::{
    AlignmentType, BorderType, Docx, Header, LineSpacing, PageMargin, PageNum, Paragraph,
    ParagraphBorder, ParagraphBorderPosition, ParagraphBorders, Run, RunFonts, SpecialIndentType,
    Table, TableCell, TableRow, WidthType,
};

use crate::content;
use crate::doc::{self, Align, Block, Column, Document, Rule, Style};
use crate::error::RenderError;
use crate::layout::{Measure, PageSpec};
use crate::model::{ConclusionNotice, Minutes};
use crate::pdf::Fonts;

/// Points to twentieths of a point (DOCX lengths).
fn twips(pt: f32) -> i32 {
    (pt * 20.0).round() as i32
}

pub fn minutes_docx(m: &Minutes) -> Result<Vec<u8>, RenderError> {
    render(&content::checked(content::minutes(m))?)
}

pub fn notice_docx(n: &ConclusionNotice) -> Result<Vec<u8>, RenderError> {
    render(&content::checked(content::notice(n))?)
}

struct Ctx {
    fonts: Fonts,
}

impl Ctx {
    fn run(&self, text: &str, style: Style, size: f32) -> Run {
        // Half-points.
        let mut r = Run::new()
            .add_text(text)
            .size((size * 2.0).round() as usize);
        if style.is_bold() {
            r = r.bold();
        }
        if style.is_italic() {
            r = r.italic();
        }
        r
    }

    fn para(&self, p: &doc::Para) -> Paragraph {
        let mut out = Paragraph::new();
        for r in &p.runs {
            out = out.add_run(self.run(&r.text, r.style, p.size));
        }
        out = out.align(match p.align {
            Align::Center => AlignmentType::Center,
            // Body text is justified as in printed documents; other left text is not.
            Align::Left if p.indent > 0.0 => AlignmentType::Both,
            Align::Left => AlignmentType::Left,
        });
        out = out.line_spacing(LineSpacing::new().before(twips(p.before) as u32).after(0));
        if p.keep_with_next {
            out = out.keep_next(true);
        }
        if p.indent > 0.0 {
            out = out.indent(
                None,
                Some(SpecialIndentType::FirstLine(twips(p.indent))),
                None,
                None,
            );
        }
        out
    }
}

fn columns(ctx: &Ctx, cols: &[Column], total: f32) -> Table {
    let widths: Vec<usize> = cols
        .iter()
        .map(|c| twips(c.frac * total) as usize)
        .collect();
    let cells = cols
        .iter()
        .zip(&widths)
        .map(|(col, &w)| {
            let mut cell = TableCell::new().width(w, WidthType::Dxa);
            for p in &col.paras {
                for para in paras(ctx, p, col.frac * total) {
                    cell = cell.add_paragraph(para);
                }
            }
            cell
        })
        .collect();
    Table::without_borders(vec![TableRow::new(cells)])
        .set_grid(widths)
        .width(twips(total) as usize, WidthType::Dxa)
}

/// A block paragraph and, for a ruled one, the Decree 30 rule under it: an empty
/// paragraph narrowed to the rule's length (measured with the PDF's metrics) whose top
/// border is the rule, since DOCX has no "line as long as the text above".
fn paras(ctx: &Ctx, p: &doc::Para, width: f32) -> Vec<Paragraph> {
    let main = ctx.para(p);
    if p.rule == Rule::None {
        return vec![main];
    }
    let text_w: f32 = p
        .runs
        .iter()
        .map(|r| ctx.fonts.width(&r.text, r.style, p.size))
        .sum::<f32>()
        .min(width);
    let len = if p.rule == Rule::Third {
        text_w / 3.0
    } else {
        text_w
    };
    let side = twips(((width - len) / 2.0).max(0.0));
    let rule = Paragraph::new()
        .indent(Some(side), None, Some(side), None)
        .line_spacing(LineSpacing::new().before(0).after(0).line(20))
        .set_borders(
            ParagraphBorders::with_empty().set(
                ParagraphBorder::new(ParagraphBorderPosition::Top)
                    .val(BorderType::Single)
                    .size(6),
            ),
        );
    vec![main, rule]
}

fn table(ctx: &Ctx, t: &doc::Table, total: f32) -> Table {
    let widths: Vec<usize> = t.widths.iter().map(|f| twips(f * total) as usize).collect();
    let cell = |text: &str, style: Style, align: Align, w: usize| {
        let p = doc::Para {
            align,
            ..doc::Para::new(text, style, t.size)
        };
        TableCell::new()
            .width(w, WidthType::Dxa)
            .add_paragraph(ctx.para(&p))
    };
    let mut rows = vec![TableRow::new(
        t.header
            .iter()
            .zip(&widths)
            .map(|(h, &w)| cell(h, Style::Bold, Align::Center, w))
            .collect(),
    )];
    for r in &t.rows {
        rows.push(TableRow::new(
            r.iter()
                .zip(&widths)
                .map(|(c, &w)| cell(&c.text, Style::Regular, c.align, w))
                .collect(),
        ));
    }
    Table::new(rows)
        .set_grid(widths)
        .width(twips(total) as usize, WidthType::Dxa)
}

pub(crate) fn render(d: &Document) -> Result<Vec<u8>, RenderError> {
    let ctx = Ctx {
        fonts: Fonts::load()?,
    };
    let spec = PageSpec::A4_DECREE_30;
    let total = spec.text_width();
    let font = RunFonts::new()
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .cs("Times New Roman")
        .east_asia("Times New Roman");
    // Decree 30: page numbers centred at the top, none on the first page.
    let page_number = Header::new().add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_page_num(PageNum::new())
            .size(26),
    );
    let mut docx = Docx::new()
        .page_size(twips(spec.width) as u32, twips(spec.height) as u32)
        .page_margin(
            PageMargin::new()
                .top(twips(spec.top))
                .bottom(twips(spec.bottom))
                .left(twips(spec.left))
                .right(twips(spec.right))
                .header(twips(spec.top / 2.0))
                .footer(twips(spec.bottom / 2.0)),
        )
        .default_fonts(font)
        .default_size(28)
        .header(page_number)
        .first_header(Header::new())
        .title_pg();
    for block in &d.blocks {
        match block {
            Block::Para(p) => {
                for para in paras(&ctx, p, total) {
                    docx = docx.add_paragraph(para);
                }
            }
            Block::Columns(cols) => docx = docx.add_table(columns(&ctx, cols, total)),
            Block::Table(t) => docx = docx.add_table(table(&ctx, t, total)),
        }
    }
    let mut out = Cursor::new(Vec::new());
    docx.build()
        .pack(&mut out)
        .map_err(|e| RenderError::Docx(e.to_string()))?;
    Ok(out.into_inner())
}
