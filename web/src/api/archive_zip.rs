//! The meeting file as one ZIP, built on disk so it can be served with `Content-Length`
//! and HTTP Range (an interrupted download of recordings resumes).
//!
//! The bytes depend only on the entries: fixed entry times (the meeting's start) and a
//! fixed order, so the same content always gives the same file. The file is cached as
//! `archives/<meeting>-<fingerprint>.zip`, the fingerprint covering every entry's name
//! and content (hash of generated text, size and mtime of stored files): a Range request
//! after a change in the meeting gets the new file, whose `Last-Modified` differs, so
//! `If-Range` restarts the download instead of splicing two versions.

use std::io::{Read, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

/// One entry of the archive.
pub struct Entry {
    /// Path inside the ZIP, `/`-separated.
    pub name: String,
    pub source: Source,
}

pub enum Source {
    /// Generated text (summary, CSV, exports): deflated.
    Bytes(Vec<u8>),
    /// A stored file (document, recording): copied as is (Stored), since media and
    /// office files are already compressed.
    File(PathBuf),
}

/// Where archives are built and kept.
pub struct ArchiveDir(pub PathBuf);

impl ArchiveDir {
    /// Returns the path of the ZIP for `entries`, building it unless an identical one
    /// is cached. Blocking: call from `spawn_blocking`.
    pub fn get_or_build(
        &self,
        meeting: &str,
        entries: &[Entry],
        mtime: OffsetDateTime,
    ) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.0)?;
        let name = format!("{meeting}-{}.zip", fingerprint(entries)?);
        let path = self.0.join(&name);
        if path.is_file() {
            return Ok(path);
        }
        let tmp = tempfile::Builder::new()
            .prefix(".building-")
            .tempfile_in(&self.0)?;
        write_zip(tmp.as_file(), entries, mtime)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        self.remove_older(meeting, &name);
        Ok(path)
    }

    /// Earlier versions of this meeting's archive are stale once a new one exists. A
    /// download still reading one keeps its open file (Unix semantics).
    fn remove_older(&self, meeting: &str, keep: &str) {
        let Ok(dir) = std::fs::read_dir(&self.0) else {
            return;
        };
        for e in dir.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let stale = n != keep && n.starts_with(&format!("{meeting}-")) && n.ends_with(".zip");
            if stale && let Err(err) = std::fs::remove_file(e.path()) {
                tracing::debug!(file = %n, error = %err, "stale archive not removed");
            }
        }
    }
}

fn fingerprint(entries: &[Entry]) -> std::io::Result<String> {
    let mut h = Sha256::new();
    // Bump when the layout of the ZIP changes, so cached files are rebuilt.
    h.update(b"archive-v1\0");
    for e in entries {
        h.update(e.name.as_bytes());
        h.update(b"\0");
        match &e.source {
            Source::Bytes(b) => h.update(Sha256::digest(b)),
            Source::File(p) => {
                let m = std::fs::metadata(p)?;
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                h.update(format!("{}\0{}\0{}", p.display(), m.len(), mtime).as_bytes());
            }
        }
        h.update(b"\n");
    }
    Ok(h.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Entry times in Hà Nội time. ZIP (DOS) times hold only 1980..=2107; outside that, or
/// for a stored time with no Hà Nội form at all, entries get the format's default.
fn zip_time(t: OffsetDateTime) -> zip::DateTime {
    let Some(t) = bridge_scheduler::meetings::range::hanoi(t) else {
        return zip::DateTime::default();
    };
    zip::DateTime::from_date_and_time(
        u16::try_from(t.year()).unwrap_or(1980),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
    .unwrap_or_default()
}

fn write_zip(out: &std::fs::File, entries: &[Entry], mtime: OffsetDateTime) -> std::io::Result<()> {
    let mut zip = ZipWriter::new(std::io::BufWriter::new(out));
    let base = SimpleFileOptions::default()
        .last_modified_time(zip_time(mtime))
        .unix_permissions(0o644);
    for e in entries {
        match &e.source {
            Source::Bytes(b) => {
                zip.start_file(
                    e.name.as_str(),
                    base.compression_method(CompressionMethod::Deflated),
                )
                .map_err(std::io::Error::other)?;
                zip.write_all(b)?;
            }
            Source::File(p) => {
                let mut f = std::fs::File::open(p)?;
                let size = f.metadata()?.len();
                let opts = base
                    .compression_method(CompressionMethod::Stored)
                    .large_file(size >= u64::from(u32::MAX));
                zip.start_file(e.name.as_str(), opts)
                    .map_err(std::io::Error::other)?;
                copy(&mut f, &mut zip)?;
            }
        }
    }
    zip.finish().map_err(std::io::Error::other)?.flush()?;
    Ok(())
}

fn copy(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<u64> {
    std::io::copy(from, to)
}

/// Names inside the ZIP: no folders from user text, no duplicates ("a.pdf", "a (2).pdf").
pub fn unique_name(taken: &mut Vec<String>, folder: &str, filename: &str) -> String {
    let clean: String = filename
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = if clean.trim().is_empty() {
        "file".to_owned()
    } else {
        clean
    };
    let (stem, ext) = match clean.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
        _ => (clean.clone(), String::new()),
    };
    let mut n = 1;
    loop {
        let candidate = if n == 1 {
            format!("{folder}/{stem}{ext}")
        } else {
            format!("{folder}/{stem} ({n}){ext}")
        };
        if !taken.contains(&candidate) {
            taken.push(candidate.clone());
            return candidate;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_flat_and_unique() {
        let mut taken = Vec::new();
        assert_eq!(
            unique_name(&mut taken, "tai-lieu", "Báo cáo.pdf"),
            "tai-lieu/Báo cáo.pdf"
        );
        assert_eq!(
            unique_name(&mut taken, "tai-lieu", "Báo cáo.pdf"),
            "tai-lieu/Báo cáo (2).pdf"
        );
        assert_eq!(
            unique_name(&mut taken, "tai-lieu", "../x/y"),
            "tai-lieu/.._x_y"
        );
        assert_eq!(unique_name(&mut taken, "tai-lieu", " "), "tai-lieu/file");
    }

    #[test]
    fn same_entries_give_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let entries = || {
            vec![Entry {
                name: "a.txt".into(),
                source: Source::Bytes(b"xin chao".to_vec()),
            }]
        };
        let t = OffsetDateTime::from_unix_timestamp(1_772_413_200).unwrap();
        let a = ArchiveDir(dir.path().join("a"))
            .get_or_build("m", &entries(), t)
            .unwrap();
        let b = ArchiveDir(dir.path().join("b"))
            .get_or_build("m", &entries(), t)
            .unwrap();
        assert_eq!(std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    }
}
