//! Liberation Serif (metric-compatible with Times New Roman, the face Decree 30 names),
//! shipped in `fonts/` and embedded in the binary; krilla subsets it into each PDF.

use krilla::text::Font;

use crate::doc::Style;
use crate::error::RenderError;
use crate::layout::Measure;

static REGULAR: &[u8] = include_bytes!("../../fonts/LiberationSerif-Regular.ttf");
static BOLD: &[u8] = include_bytes!("../../fonts/LiberationSerif-Bold.ttf");
static ITALIC: &[u8] = include_bytes!("../../fonts/LiberationSerif-Italic.ttf");
static BOLD_ITALIC: &[u8] = include_bytes!("../../fonts/LiberationSerif-BoldItalic.ttf");

fn bytes(style: Style) -> (&'static [u8], &'static str) {
    match style {
        Style::Regular => (REGULAR, "LiberationSerif-Regular"),
        Style::Bold => (BOLD, "LiberationSerif-Bold"),
        Style::Italic => (ITALIC, "LiberationSerif-Italic"),
        Style::BoldItalic => (BOLD_ITALIC, "LiberationSerif-BoldItalic"),
    }
}

const STYLES: [Style; 4] = [
    Style::Regular,
    Style::Bold,
    Style::Italic,
    Style::BoldItalic,
];

fn index(style: Style) -> usize {
    match style {
        Style::Regular => 0,
        Style::Bold => 1,
        Style::Italic => 2,
        Style::BoldItalic => 3,
    }
}

pub struct Fonts {
    pdf: Vec<Font>,
    faces: Vec<rustybuzz::Face<'static>>,
}

impl Fonts {
    pub fn load() -> Result<Self, RenderError> {
        let mut pdf = Vec::new();
        let mut faces = Vec::new();
        for style in STYLES {
            let (data, name) = bytes(style);
            pdf.push(Font::new(data.into(), 0).ok_or(RenderError::Font(name))?);
            faces.push(rustybuzz::Face::from_slice(data, 0).ok_or(RenderError::Font(name))?);
        }
        Ok(Fonts { pdf, faces })
    }

    pub fn pdf(&self, style: Style) -> Font {
        self.pdf[index(style)].clone()
    }
}

impl Measure for Fonts {
    /// Shapes like krilla's `draw_text` does (rustybuzz, same font), so what is measured
    /// is what is drawn.
    fn width(&self, text: &str, style: Style, size: f32) -> f32 {
        let face = &self.faces[index(style)];
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        let out = rustybuzz::shape(face, &[], buffer);
        let units: i32 = out.glyph_positions().iter().map(|p| p.x_advance).sum();
        units as f32 / face.units_per_em() as f32 * size
    }
}
