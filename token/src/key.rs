//! The signing key, its file, and sign/verify.

use crate::{Claims, Grant, TokenError};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use std::fmt;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::path::Path;
use std::time::Duration;

/// File name of the secret inside the data directory.
pub const SECRET_FILE: &str = "secret.key";
const SECRET_LEN: usize = 32;
/// Tolerated clock difference for `nbf` only: a token minted on another node whose
/// clock runs a little ahead must still work at once. `exp` is checked strictly.
const NBF_LEEWAY_SECS: u64 = 30;
/// The longest a token may admit, unless the server is told otherwise: a week covers a
/// link handed out for a meeting and its repeats' week, and bounds what a leaked or
/// mistyped link (`--ttl 300y`) is worth.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(7 * 86_400);

/// The HS256 key that signs and verifies join tokens, with the longest lifetime it
/// signs or accepts.
#[derive(Clone)]
pub struct TokenKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    max_lifetime: Duration,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub fn from_secret(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            max_lifetime: DEFAULT_MAX_LIFETIME,
        }
    }

    /// The same key, signing and accepting tokens that admit for at most `max`.
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// The longest a token of this key may admit (see [`lifetime`]).
    pub fn max_lifetime(&self) -> Duration {
        self.max_lifetime
    }

    /// A fresh random key (tests, or a server that needs no persistence).
    pub fn generate() -> Self {
        Self::from_secret(&rand::random::<[u8; SECRET_LEN]>())
    }

    /// Reads `DIR/secret.key`, creating the directory and a new random secret (mode
    /// 0600) if it does not exist yet.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, TokenError> {
        let path = data_dir.join(SECRET_FILE);
        let io = |source| TokenError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(&path) {
            Ok(mut file) => {
                let secret = rand::random::<[u8; SECRET_LEN]>();
                file.write_all(&secret).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(Self::from_secret(&secret))
            }
            // Someone (maybe a concurrent `bridge token`) made it first: use theirs.
            Err(e) if e.kind() == IoKind::AlreadyExists => {
                let mut secret = Vec::with_capacity(SECRET_LEN);
                std::fs::File::open(&path)
                    .and_then(|mut f| f.read_to_end(&mut secret))
                    .map_err(io)?;
                if secret.len() != SECRET_LEN {
                    return Err(TokenError::BadKeyFile {
                        path: path.display().to_string(),
                        expected: SECRET_LEN,
                        found: secret.len(),
                    });
                }
                Ok(Self::from_secret(&secret))
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| TokenError::Sign(e.to_string()))
    }

    /// Signs a token for `grant`, valid from `now_unix` for `ttl`, with a fresh `sub`.
    /// A `ttl` over the key's maximum is refused: the server would refuse the token.
    pub fn mint(&self, grant: Grant, now_unix: u64, ttl: Duration) -> Result<String, TokenError> {
        if ttl > self.max_lifetime {
            return Err(TokenError::Lifetime {
                secs: ttl.as_secs(),
                max_secs: self.max_lifetime.as_secs(),
            });
        }
        let claims = Claims {
            room: grant.room,
            name: grant.name,
            role: grant.role,
            unit: grant.unit,
            sub: random_id(),
            iat: now_unix,
            exp: now_unix.saturating_add(ttl.as_secs()),
            nbf: None,
        };
        self.sign(&claims)
    }

    /// Checks signature (HS256 only), `exp` (required, strict), `nbf` (if present), the
    /// lifetime (at most the key's maximum, whatever the signature) and, when
    /// `expected_room` is given, the room. `now_unix` is the current time.
    pub fn verify(
        &self,
        token: &str,
        expected_room: Option<&str>,
        now_unix: u64,
    ) -> Result<Claims, TokenError> {
        if token.trim().is_empty() {
            return Err(TokenError::Missing);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // Time checks are ours (time is a parameter); the library still insists that
        // `exp` is present.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::Invalid("bad signature".into()),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    TokenError::Invalid("algorithm not allowed (HS256 only)".into())
                }
                ErrorKind::MissingRequiredClaim(c) => {
                    TokenError::Invalid(format!("claim {c:?} is required"))
                }
                _ => TokenError::Invalid(e.to_string()),
            },
        )?;
        let claims = data.claims;
        if now_unix >= claims.exp {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = claims.nbf
            && now_unix.saturating_add(NBF_LEEWAY_SECS) < nbf
        {
            return Err(TokenError::NotYetValid);
        }
        let secs = lifetime(&claims);
        if secs > self.max_lifetime.as_secs() {
            return Err(TokenError::Lifetime {
                secs,
                max_secs: self.max_lifetime.as_secs(),
            });
        }
        if let Some(expected) = expected_room
            && expected != claims.room
        {
            return Err(TokenError::WrongRoom {
                expected: expected.to_owned(),
                token_room: claims.room,
            });
        }
        Ok(claims)
    }
}

/// How long a token admits, in seconds: from when it is first valid (`iat`, or `nbf`
/// when later) to `exp`. A meeting's link may be issued weeks ahead with `nbf` half an
/// hour before the meeting: what bounds the harm of a leaked link is this window, not
/// the age of the token.
pub fn lifetime(claims: &Claims) -> u64 {
    let from = claims.iat.max(claims.nbf.unwrap_or(0));
    claims.exp.saturating_sub(from)
}

/// 128 random bits as hex: unique enough for token and participant ids.
pub fn random_id() -> String {
    rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
