//! PDF output: lays the document out with the embedded fonts' metrics and draws it with
//! krilla, which subsets the fonts and writes ToUnicode maps (so text extraction returns
//! the exact Vietnamese text).

mod fonts;

use krilla::Document as PdfDocument;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::TextDirection;

use crate::content;
use crate::doc::Document;
use crate::error::RenderError;
use crate::layout::{Item, PageSpec, layout};
use crate::model::{ConclusionNotice, Minutes};

pub use fonts::Fonts;

/// A rendered PDF and its number of pages (edXML reports the page count).
#[derive(Debug, Clone)]
pub struct Pdf {
    pub bytes: Vec<u8>,
    pub pages: usize,
}

pub fn minutes_pdf(m: &Minutes) -> Result<Pdf, RenderError> {
    render(&content::checked(content::minutes(m))?)
}

pub fn notice_pdf(n: &ConclusionNotice) -> Result<Pdf, RenderError> {
    render(&content::checked(content::notice(n))?)
}

pub(crate) fn render(doc: &Document) -> Result<Pdf, RenderError> {
    let fonts = Fonts::load()?;
    let spec = PageSpec::A4_DECREE_30;
    let pages = layout(doc, spec, &fonts);
    let mut pdf = PdfDocument::new();
    pdf.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .language("vi".into())
            .creator("bridge-minutes".into()),
    );
    let settings = PageSettings::from_wh(spec.width, spec.height)
        .ok_or_else(|| RenderError::Pdf("invalid page size".into()))?;
    for page in &pages {
        let mut p = pdf.start_page_with(settings.clone());
        let mut surface = p.surface();
        for item in &page.items {
            match item {
                Item::Text {
                    x,
                    y,
                    text,
                    style,
                    size,
                } => {
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill::default()));
                    surface.draw_text(
                        Point::from_xy(*x, *y),
                        fonts.pdf(*style),
                        *size,
                        text,
                        false,
                        TextDirection::LeftToRight,
                    );
                }
                Item::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    width,
                } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y1);
                    pb.line_to(*x2, *y2);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            width: *width,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                    }
                }
            }
        }
        surface.finish();
        p.finish();
    }
    let bytes = pdf
        .finish()
        .map_err(|e| RenderError::Pdf(format!("{e:?}")))?;
    Ok(Pdf {
        bytes,
        pages: pages.len(),
    })
}
