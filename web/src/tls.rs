//! HTTPS certificates: PEM files given by the operator (reloaded on SIGHUP or when they
//! change, for renewals), or a self-signed certificate made once and kept in the data
//! directory for a LAN pilot. Browsers allow camera and microphone only to a secure
//! context, so a hall on another machine needs one of the two.

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// How often certificate files are checked for a change (besides SIGHUP).
const RELOAD_POLL: Duration = Duration::from_secs(5);
/// The self-signed certificate's lifetime; it is made anew when it ends.
const SELF_SIGNED_DAYS: i64 = 825;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    #[error("the key in {path} is not usable: {source}")]
    Key {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("the key in {key} does not belong to the certificate in {cert}")]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("making the self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The files a certificate is read from.
#[derive(Debug, Clone)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// What the start banner says about the certificate.
#[derive(Debug, Clone)]
pub struct CertSummary {
    /// SHA-256 of the leaf certificate, `AB:CD:…`, as browsers show it.
    pub fingerprint: String,
    /// base64 SHA-256 of its public key (what Chromium's
    /// `--ignore-certificate-errors-spki-list` and HPKP-style pins take).
    pub spki_sha256: Option<String>,
    /// The names (DNS names and IP addresses) a self-signed certificate covers.
    pub names: Vec<String>,
}

/// The certificate rustls presents; swapped in place when the files change.
#[derive(Debug)]
pub struct CertStore {
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // A poisoned lock still holds a whole certificate: serve it.
        Some(match self.current.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        })
    }
}

impl CertStore {
    fn new(key: CertifiedKey) -> Arc<Self> {
        Arc::new(Self {
            current: RwLock::new(Arc::new(key)),
        })
    }

    fn replace(&self, key: CertifiedKey) {
        let key = Arc::new(key);
        match self.current.write() {
            Ok(mut c) => *c = key,
            Err(p) => *p.into_inner() = key,
        }
    }

    /// The rustls configuration of the HTTPS listener (HTTP/1.1 only: the WebSocket
    /// upgrade of `/ws` is an HTTP/1.1 mechanism).
    pub fn server_config(self: &Arc<Self>) -> Arc<rustls::ServerConfig> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_no_client_auth()
        .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

/// Loads PEM files: the chain (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1).
pub fn load_files(files: &CertFiles) -> Result<(CertifiedKey, CertSummary), TlsError> {
    let read_err = |path: &Path| {
        let path = path.to_owned();
        move |source| TlsError::Read { path, source }
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(read_err(&files.cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read_err(&files.cert))?;
    let leaf = chain
        .first()
        .ok_or_else(|| TlsError::NoCertificate(files.cert.clone()))?;
    let fingerprint = fingerprint(leaf);
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(read_err(&files.key))?;
    let signer = any_supported_type(&key).map_err(|source| TlsError::Key {
        path: files.key.clone(),
        source,
    })?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|_| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
    })?;
    let summary = CertSummary {
        fingerprint,
        spki_sha256: spki_sha256(&certified),
        names: Vec::new(),
    };
    Ok((certified, summary))
}

/// Serves `files` and reloads them on SIGHUP or when their size or time changes; a
/// broken new pair is logged and the old certificate stays.
pub fn serve_files(files: CertFiles) -> Result<(Arc<CertStore>, CertSummary), TlsError> {
    let (key, summary) = load_files(&files)?;
    let store = CertStore::new(key);
    tokio::spawn(reload_loop(files, store.clone()));
    Ok((store, summary))
}

async fn reload_loop(files: CertFiles, store: Arc<CertStore>) {
    let stamp = |files: &CertFiles| -> Option<[(SystemTime, u64); 2]> {
        let one = |p: &Path| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        };
        Some([one(&files.cert)?, one(&files.key)?])
    };
    let mut seen = stamp(&files);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP"))
        .ok();
    let mut tick = tokio::time::interval(RELOAD_POLL);
    loop {
        #[cfg(unix)]
        let signalled = async {
            match hup.as_mut() {
                Some(s) => s.recv().await.is_some(),
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let signalled = std::future::pending::<bool>();
        let forced = tokio::select! {
            got = signalled => got,
            _ = tick.tick() => false,
        };
        let now = stamp(&files);
        if !forced && now == seen {
            continue;
        }
        match load_files(&files) {
            Ok((key, summary)) => {
                store.replace(key);
                seen = now;
                tracing::info!(fingerprint = %summary.fingerprint, "TLS certificate reloaded");
            }
            // Often the cert is written before its key: try again at the next tick.
            Err(e) => tracing::warn!(error = %e, "TLS certificate not reloaded; the old one stays"),
        }
    }
}

/// The self-signed certificate in `dir`, made for `names` when missing, expired or made
/// for other names. The key file is readable by the owner only.
pub fn self_signed(
    dir: &Path,
    names: &[String],
) -> Result<(Arc<CertStore>, CertSummary), TlsError> {
    let files = CertFiles {
        cert: dir.join("self-signed-cert.pem"),
        key: dir.join("self-signed-key.pem"),
    };
    let names_file = dir.join("self-signed-names.txt");
    let wanted = names.join("\n");
    let kept = std::fs::read_to_string(&names_file).ok();
    let fresh = std::fs::metadata(&files.cert)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < Duration::from_secs((SELF_SIGNED_DAYS as u64 - 30) * 86_400));
    if kept.as_deref() != Some(wanted.as_str()) || !fresh || load_files(&files).is_err() {
        make_self_signed(dir, &files, names)?;
        write(&names_file, wanted.as_bytes(), false)?;
    }
    let (key, mut summary) = load_files(&files)?;
    summary.names = names.to_vec();
    Ok((CertStore::new(key), summary))
}

fn make_self_signed(dir: &Path, files: &CertFiles, names: &[String]) -> Result<(), TlsError> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(names.to_vec())?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Cầu truyền hình (self-signed)");
    let cert = params.self_signed(&key)?;
    std::fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        path: dir.to_owned(),
        source,
    })?;
    write(&files.key, key.serialize_pem().as_bytes(), true)?;
    write(&files.cert, cert.pem().as_bytes(), false)?;
    Ok(())
}

fn write(path: &Path, bytes: &[u8], secret: bool) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io)?;
    std::io::Write::write_all(&mut f, bytes).map_err(io)
}

/// `AB:CD:…` SHA-256 of a certificate, the form browsers and `openssl x509 -fingerprint`
/// print.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn spki_sha256(key: &CertifiedKey) -> Option<String> {
    use base64::Engine;
    let spki = key.key.public_key()?;
    Some(base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_is_kept_and_remade_for_other_names() {
        let dir = tempfile::tempdir().unwrap();
        let names = vec!["localhost".to_owned(), "192.0.2.1".to_owned()];
        let (_, first) = self_signed(dir.path(), &names).unwrap();
        let (_, again) = self_signed(dir.path(), &names).unwrap();
        assert_eq!(first.fingerprint, again.fingerprint, "kept across restarts");
        let other = vec!["localhost".to_owned(), "192.0.2.9".to_owned()];
        let (_, remade) = self_signed(dir.path(), &other).unwrap();
        assert_ne!(
            first.fingerprint, remade.fingerprint,
            "a new name makes a new one"
        );
        assert_eq!(remade.names, other);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("self-signed-key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is the owner's alone: {mode:o}");
        }
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = rcgen::generate_simple_self_signed(vec!["a.test".to_owned()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["b.test".to_owned()]).unwrap();
        let files = CertFiles {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
        };
        std::fs::write(&files.cert, a.cert.pem()).unwrap();
        std::fs::write(&files.key, b.signing_key.serialize_pem()).unwrap();
        assert!(matches!(load_files(&files), Err(TlsError::Mismatch { .. })));
        std::fs::write(&files.key, "not a key").unwrap();
        assert!(load_files(&files).is_err());
        std::fs::write(&files.key, a.signing_key.serialize_pem()).unwrap();
        let (_, summary) = load_files(&files).unwrap();
        assert_eq!(summary.fingerprint, fingerprint(a.cert.der()));
    }
}
