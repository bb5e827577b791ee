//! Errors of rendering. Signing has its own (`sign::SignError`).

/// Largest amount of text (all fields together, in bytes) a document may carry: far
/// above any real minutes, low enough that a pasted file cannot tie up the server.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("the document has {bytes} bytes of text; the limit is {limit}")]
    TooLarge { bytes: usize, limit: usize },
    #[error("the embedded font {0} could not be loaded")]
    Font(&'static str),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    #[error("the DOCX could not be written: {0}")]
    Docx(String),
    #[error("the edXML package could not be written: {0}")]
    Xml(String),
}
