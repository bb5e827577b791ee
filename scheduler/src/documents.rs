//! Documents attached to a meeting: agenda papers, reports, slides.
//!
//! The bytes live on disk in one folder, one file per document named by its id (never by
//! the uploader's filename); the row is written only after the file is complete and
//! renamed into place. An upload streams into a temporary file in the same folder, with
//! the size limit enforced while streaming, so a refused, failed or abandoned upload
//! leaves neither a row nor a file behind (the temporary file is deleted on drop).

use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use tokio::io::AsyncWriteExt;

use crate::authz::{self, Principal};
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::{DocumentId, MeetingId};
use crate::timefmt::from_unix;

/// Largest file accepted unless the operator sets another limit.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
/// Documents per meeting: enough for any agenda, small enough that a runaway script
/// cannot fill the disk through one meeting.
pub const MAX_DOCUMENTS_PER_MEETING: i64 = 200;
/// Longest stored filename, in characters.
const MAX_FILENAME_CHARS: usize = 200;

/// A stored document, as listed to the units that may see the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Document {
    pub id: DocumentId,
    pub meeting: MeetingId,
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    /// Hex SHA-256 of the bytes, so a downloaded copy can be checked.
    pub sha256: String,
    /// Username of the uploader.
    pub uploaded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
}

/// Where document bytes live and how large one may be.
#[derive(Debug, Clone)]
pub struct DocumentStore {
    dir: PathBuf,
    max_bytes: u64,
}

impl DocumentStore {
    /// Creates the folder if needed.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<DocumentStore> {
        std::fs::create_dir_all(dir)?;
        Ok(DocumentStore {
            dir: dir.to_owned(),
            max_bytes,
        })
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Path of a stored document's bytes.
    pub fn path(&self, id: DocumentId) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// Starts an upload: a temporary file in the store's folder (same file system, so
    /// finishing is a rename).
    pub fn begin(&self, filename: &str, content_type: &str) -> Result<Upload> {
        let filename = sanitize_filename(filename)?;
        let tmp = tempfile::Builder::new()
            .prefix(".upload-")
            .tempfile_in(&self.dir)?;
        let file = tokio::fs::File::from_std(tmp.reopen()?);
        Ok(Upload {
            tmp,
            file,
            hasher: Sha256::new(),
            size: 0,
            limit: self.max_bytes,
            filename,
            content_type: sanitize_content_type(content_type),
        })
    }
}

/// An upload in progress. Dropping it deletes what was written.
pub struct Upload {
    tmp: tempfile::NamedTempFile,
    file: tokio::fs::File,
    hasher: Sha256,
    size: u64,
    limit: u64,
    filename: String,
    content_type: String,
}

impl Upload {
    /// Appends a chunk; refuses (and the caller drops the upload) once over the limit.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let size = self.size + chunk.len() as u64;
        if size > self.limit {
            return Err(SchedError::TooLarge {
                what: "file",
                size: size as usize,
                limit: self.limit as usize,
            });
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        self.size = size;
        Ok(())
    }
}

/// Keeps the last path component, drops control characters and characters that are
/// unsafe in a Windows filename (staff save these files on Windows PCs).
fn sanitize_filename(name: &str) -> Result<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
        .take(MAX_FILENAME_CHARS)
        .collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    if clean.is_empty() {
        return Err(SchedError::invalid(
            "filename",
            "the file has no usable name",
        ));
    }
    Ok(unicode_normalization::UnicodeNormalization::nfc(clean).collect())
}

/// A `type/subtype` token, or `application/octet-stream`: the value is echoed back in
/// a header, so nothing but a plain MIME type may pass.
fn sanitize_content_type(ct: &str) -> String {
    let ct = ct.split(';').next().unwrap_or_default().trim();
    let ok = ct.len() <= 100
        && ct.split_once('/').is_some_and(|(a, b)| {
            let token = |s: &str| {
                !s.is_empty()
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
            };
            token(a) && token(b)
        });
    if ok {
        ct.to_ascii_lowercase()
    } else {
        "application/octet-stream".into()
    }
}

const DOC_COLS: &str = "d.id, d.meeting_id, d.filename, d.content_type, d.size, d.sha256, \
                        u.username, d.uploaded_at";

fn document_from_row(r: &AnyRow) -> Result<Document> {
    Ok(Document {
        id: DocumentId::parse(r.try_get("id")?)?,
        meeting: MeetingId::parse(r.try_get("meeting_id")?)?,
        filename: r.try_get("filename")?,
        content_type: r.try_get("content_type")?,
        size: r.try_get::<i64, _>("size")?.max(0) as u64,
        sha256: r.try_get("sha256")?,
        uploaded_by: r.try_get("username")?,
        uploaded_at: from_unix(r.try_get("uploaded_at")?)?,
    })
}

impl Db {
    /// Whether `actor` may add or remove documents of the meeting: whoever manages it.
    /// Checked before an upload starts streaming and again when it is saved.
    pub async fn check_documents_write(&self, actor: &Principal, meeting: MeetingId) -> Result<()> {
        let m = self.load_meeting(meeting).await?;
        let org = self.unit(&m.organizer).await?;
        if !authz::can_manage_meeting(actor, &org.path) {
            return Err(SchedError::Forbidden(
                "only the organizing office may add or remove documents".into(),
            ));
        }
        Ok(())
    }

    /// Finishes an upload: file renamed into the store, then the row; both or neither.
    pub async fn save_document(
        &self,
        store: &DocumentStore,
        actor: &Principal,
        meeting: MeetingId,
        mut upload: Upload,
        now: OffsetDateTime,
    ) -> Result<Document> {
        self.check_documents_write(actor, meeting).await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM documents WHERE meeting_id = $1")
            .bind(meeting.to_string())
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        if count >= MAX_DOCUMENTS_PER_MEETING {
            return Err(SchedError::invalid(
                "documents",
                format!("a meeting holds at most {MAX_DOCUMENTS_PER_MEETING} documents"),
            ));
        }
        upload.file.flush().await?;
        upload.file.sync_all().await?;
        let Upload {
            tmp,
            hasher,
            size,
            filename,
            content_type,
            ..
        } = upload;
        let id = DocumentId::new_random();
        let path = store.path(id);
        tmp.persist(&path).map_err(|e| e.error)?;
        let sha256: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let insert = sqlx::query(
            "INSERT INTO documents (id, meeting_id, filename, content_type, size, sha256, \
             uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(meeting.to_string())
        .bind(filename)
        .bind(content_type)
        .bind(size as i64)
        .bind(sha256)
        .bind(actor.user_id.to_string())
        .bind(now.unix_timestamp())
        .execute(&self.pool)
        .await;
        if let Err(e) = insert {
            let _ = std::fs::remove_file(&path);
            return Err(e.into());
        }
        self.document_row(meeting, id).await
    }

    async fn document_row(&self, meeting: MeetingId, id: DocumentId) -> Result<Document> {
        let row = sqlx::query(&format!(
            "SELECT {DOC_COLS} FROM documents d JOIN users u ON u.id = d.uploaded_by \
             WHERE d.id = $1 AND d.meeting_id = $2"
        ))
        .bind(id.to_string())
        .bind(meeting.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| SchedError::not_found("document", id.to_string()))?;
        document_from_row(&row)
    }

    /// The meeting's documents, oldest first, for anyone who may see the meeting.
    pub async fn documents(&self, actor: &Principal, meeting: MeetingId) -> Result<Vec<Document>> {
        let m = self.load_meeting(meeting).await?;
        self.check_view(actor, &m).await?;
        sqlx::query(&format!(
            "SELECT {DOC_COLS} FROM documents d JOIN users u ON u.id = d.uploaded_by \
             WHERE d.meeting_id = $1 ORDER BY d.uploaded_at, d.filename"
        ))
        .bind(meeting.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(document_from_row)
        .collect()
    }

    /// One document and where its bytes are, for anyone who may see the meeting.
    pub async fn document(
        &self,
        store: &DocumentStore,
        actor: &Principal,
        meeting: MeetingId,
        id: DocumentId,
    ) -> Result<(Document, PathBuf)> {
        let m = self.load_meeting(meeting).await?;
        self.check_view(actor, &m).await?;
        let doc = self.document_row(meeting, id).await?;
        Ok((doc, store.path(id)))
    }

    /// Removes a document: the row first (it disappears from every list at once), then
    /// the bytes.
    pub async fn delete_document(
        &self,
        store: &DocumentStore,
        actor: &Principal,
        meeting: MeetingId,
        id: DocumentId,
    ) -> Result<()> {
        self.check_documents_write(actor, meeting).await?;
        let n = sqlx::query("DELETE FROM documents WHERE id = $1 AND meeting_id = $2")
            .bind(id.to_string())
            .bind(meeting.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(SchedError::not_found("document", id.to_string()));
        }
        if let Err(e) = std::fs::remove_file(store.path(id)) {
            tracing::warn!(document = %id, error = %e, "document row removed but its file was not");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_lose_paths_and_unsafe_characters() {
        assert_eq!(
            sanitize_filename("../../etc/Báo cáo.pdf").unwrap(),
            "Báo cáo.pdf"
        );
        assert_eq!(
            sanitize_filename("C:\\Users\\x\\Tờ trình:số 5?.docx").unwrap(),
            "Tờ trìnhsố 5.docx"
        );
        assert_eq!(sanitize_filename("..hidden").unwrap(), "hidden");
        assert!(sanitize_filename("../").is_err());
        assert!(sanitize_filename("\u{7}\n").is_err());
        // Decomposed input (as macOS sends it) is stored composed.
        assert_eq!(sanitize_filename("Ho\u{0300}a.txt").unwrap(), "Hòa.txt");
    }

    #[test]
    fn content_types_are_plain_mime_types() {
        assert_eq!(sanitize_content_type("application/PDF"), "application/pdf");
        assert_eq!(
            sanitize_content_type("text/plain; charset=utf-8"),
            "text/plain"
        );
        for bad in ["", "pdf", "text/html\r\nX-Evil: 1", "a/b c"] {
            assert_eq!(sanitize_content_type(bad), "application/octet-stream");
        }
    }
}
