//! Meeting minutes (biên bản, Decree 30/2020/NĐ-CP form 1.9) and conclusion notices
//! (thông báo kết luận) as official documents: PDF with embedded fonts, DOCX, an edXML
//! package (QCVN 102:2016/BTTTT), and PAdES signing of the final minutes.
//!
//! Pure: data in, bytes out. Storage, numbering and the editor live elsewhere.
#![forbid(unsafe_code)]

mod content;
mod doc;
pub mod docx;
pub mod edxml;
mod error;
mod layout;
pub mod model;
pub mod pdf;
pub mod sign;
pub mod vn;

pub use error::{MAX_TEXT_BYTES, RenderError};
pub use model::{
    AgendaSection, Attendee, ConclusionNotice, DocNumber, EffectiveStatus, Issuer, MeetingRef,
    Minutes, Person, Task, TaskStatus,
};
pub use pdf::{Pdf, minutes_pdf, notice_pdf};
