//! Accounts, Argon2id passwords, login sessions and API tokens. Secrets given to clients
//! are random 256-bit values; only their SHA-256 is stored, so a database leak does not
//! leak usable sessions.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::authz::{Principal, Role};
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::{UnitCode, UserId};

/// A web login lasts a working day plus margin, however busy (the default of
/// [`SessionPolicy::max`]).
pub const SESSION_SECONDS: i64 = 12 * 3600;
/// A web login left without a request this long ends (the default of
/// [`SessionPolicy::idle`]): a hall PC left signed in overnight is signed out.
pub const SESSION_IDLE_SECONDS: i64 = 8 * 3600;
pub const MIN_PASSWORD_CHARS: usize = 8;
/// A session's last request is written at most this often: not a write per request.
const LAST_SEEN_STEP: i64 = 60;

/// How long web sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Seconds without a request after which a session ends.
    pub idle: i64,
    /// Seconds after sign-in after which a session ends anyway.
    pub max: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: SESSION_IDLE_SECONDS,
            max: SESSION_SECONDS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: Option<UnitCode>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub unit: Option<UnitCode>,
}

/// A secret handed to the client once (cookie value or API token).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

pub(crate) fn new_secret() -> Secret {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    Secret(hex(&b))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn secret_hash(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// Argon2id (the crate's default algorithm) with a random salt, PHC string format.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SchedError::Password(e.to_string()))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A valid Argon2id hash of a random password, computed once.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&new_secret().0).unwrap_or_default())
}

fn user_from_row(r: &AnyRow) -> Result<User> {
    let role: String = r.try_get("role")?;
    Ok(User {
        id: UserId::parse(&r.try_get::<String, _>("id")?)?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: Role::parse(&role).ok_or_else(|| SchedError::invalid("role", role))?,
        unit: r
            .try_get::<Option<String>, _>("unit_code")?
            .map(UnitCode::from_db),
    })
}

const USER_COLS: &str = "id, username, display_name, role, unit_code";

impl Db {
    /// The same database with this session policy (`bridge serve --session-idle/-max`).
    pub fn with_session_policy(mut self, policy: SessionPolicy) -> Db {
        self.sessions = policy;
        self
    }

    pub fn session_policy(&self) -> SessionPolicy {
        self.sessions
    }

    /// Sets (or clears) where the account receives invitations by e-mail.
    pub async fn set_user_email(&self, username: &str, email: Option<&str>) -> Result<()> {
        let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => Some(
                crate::mail::mailbox(e)
                    .map_err(|err| SchedError::invalid("email", err.to_string()))?
                    .email
                    .to_string(),
            ),
            None => None,
        };
        let n = sqlx::query("UPDATE users SET email = $1 WHERE username = $2")
            .bind(email)
            .bind(username.trim().to_lowercase())
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(SchedError::not_found("account", username));
        }
        Ok(())
    }

    pub async fn create_user(&self, new: NewUser, now: OffsetDateTime) -> Result<User> {
        let username = new.username.trim().to_lowercase();
        if username.is_empty()
            || username.len() > 64
            || !username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(SchedError::invalid(
                "username",
                "1..=64 characters: letters, digits, '.', '_', '-', '@'",
            ));
        }
        if new.password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(SchedError::invalid(
                "password",
                format!("at least {MIN_PASSWORD_CHARS} characters"),
            ));
        }
        if new.role != Role::Administrator && new.unit.is_none() {
            return Err(SchedError::invalid("unit", "required for this role"));
        }
        if let Some(u) = &new.unit {
            self.unit(u).await?;
        }
        let taken = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(username.clone())
            .fetch_optional(&self.pool)
            .await?;
        if taken.is_some() {
            return Err(SchedError::UsernameTaken(username));
        }
        let password = new.password;
        let phc = crate::hashing::run(move || hash_password(&password))
            .await
            .ok_or_else(|| SchedError::Password("the password threads are gone".into()))??;
        let user = User {
            id: UserId::new_random(),
            username,
            display_name: new.display_name.trim().to_owned(),
            role: new.role,
            unit: new.unit,
        };
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, role, unit_code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(user.id.to_string())
        .bind(user.username.clone())
        .bind(user.display_name.clone())
        .bind(phc)
        .bind(user.role.as_str())
        .bind(user.unit.as_ref().map(|u| u.as_str().to_owned()))
        .bind(now.unix_timestamp())
        .execute(&self.pool)
        .await?;
        Ok(user)
    }

    /// First run: when no account exists yet, creates administrator `admin` with a random
    /// password and returns `(username, password)` for the operator to note once.
    pub async fn ensure_first_admin(
        &self,
        now: OffsetDateTime,
    ) -> Result<Option<(String, String)>> {
        if self.user_count().await? > 0 {
            return Ok(None);
        }
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        // The thread-local RNG is not Send: draw everything before the next await.
        let password: String = {
            let mut rng = rand::rng();
            (0..16)
                .map(|_| ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char)
                .collect()
        };
        let user = NewUser {
            username: "admin".into(),
            display_name: "Quản trị hệ thống".into(),
            password: password.clone(),
            role: Role::Administrator,
            unit: None,
        };
        match self.create_user(user, now).await {
            Ok(u) => Ok(Some((u.username, password))),
            // Another process won the race: it printed the password.
            Err(SchedError::UsernameTaken(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn user(&self, id: UserId) -> Result<User> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        let r = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| SchedError::not_found("user", id.to_string()))?;
        user_from_row(&r)
    }

    /// Accounts that may chair a meeting organized by `organizer`: chair accounts of that
    /// unit and of the units above it (a province leader may chair a district meeting).
    /// For whoever schedules the organizer's meetings.
    pub async fn chairs_for(&self, actor: &Principal, organizer: &UnitCode) -> Result<Vec<User>> {
        let org = self.unit(organizer).await?;
        if !crate::authz::can_manage_meeting(actor, &org.path) {
            return Err(SchedError::Forbidden(format!(
                "you may not schedule meetings for unit {organizer}"
            )));
        }
        let sql = format!(
            "SELECT {USER_COLS} FROM users WHERE role = 'chair' AND unit_code IN \
             (SELECT ancestor_code FROM unit_ancestors WHERE unit_code = $1) \
             ORDER BY display_name"
        );
        sqlx::query(&sql)
            .bind(organizer.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(user_from_row)
            .collect()
    }

    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    /// Checks a password; the same error for unknown user and wrong password. A
    /// disabled account is told so, but only to whoever knows its password.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<User> {
        let sql = format!(
            "SELECT {USER_COLS}, password_hash, disabled_at FROM users WHERE username = $1"
        );
        let row = sqlx::query(&sql)
            .bind(username.trim().to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        // An unknown user costs the same Argon2 verification as a wrong password, so the
        // answer time does not reveal which usernames exist.
        let phc: Option<String> = row
            .as_ref()
            .map(|r| r.try_get("password_hash"))
            .transpose()?;
        let pw = password.to_owned();
        let ok = crate::hashing::run(move || {
            verify_password(&pw, phc.as_deref().unwrap_or_else(|| dummy_hash()))
        })
        .await
        .unwrap_or(false);
        match row {
            Some(r) if ok => {
                if r.try_get::<Option<i64>, _>("disabled_at")?.is_some() {
                    return Err(SchedError::AccountDisabled);
                }
                user_from_row(&r)
            }
            _ => Err(SchedError::Unauthenticated),
        }
    }

    /// Password login: returns the session secret for the cookie.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<(Secret, User)> {
        let user = self.authenticate(username, password).await?;
        // Housekeeping: expired sessions are useless; logins are rare enough to pay for it.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
        let secret = new_secret();
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $3)",
        )
        .bind(secret_hash(&secret.0))
        .bind(user.id.to_string())
        .bind(now.unix_timestamp())
        .bind(now.unix_timestamp() + self.sessions.max)
        .execute(&self.pool)
        .await?;
        Ok((secret, user))
    }

    pub async fn logout(&self, session: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(secret_hash(session))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The principal behind a session cookie, if the session exists, has been used
    /// within the idle timeout, has not reached its end, and its account is enabled.
    /// Counts as a request for the idle timeout.
    pub async fn session_principal(&self, session: &str, now: OffsetDateTime) -> Result<Principal> {
        let (hash, t) = (secret_hash(session), now.unix_timestamp());
        let r = sqlx::query(
            "SELECT s.user_id, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 \
             AND u.disabled_at IS NULL",
        )
        .bind(hash.clone())
        .bind(t)
        .bind(t - self.sessions.idle)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(SchedError::Unauthenticated)?;
        if r.try_get::<i64, _>("last_seen_at")? <= t - LAST_SEEN_STEP {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(t)
                .bind(hash)
                .execute(&self.pool)
                .await?;
        }
        let id = UserId::parse(&r.try_get::<String, _>("user_id")?)?;
        self.principal(id).await
    }

    pub async fn create_api_token(
        &self,
        user: UserId,
        label: &str,
        now: OffsetDateTime,
    ) -> Result<Secret> {
        self.user(user).await?;
        let secret = new_secret();
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(secret_hash(&secret.0))
        .bind(user.to_string())
        .bind(label.chars().take(100).collect::<String>())
        .bind(now.unix_timestamp())
        .execute(&self.pool)
        .await?;
        Ok(secret)
    }

    pub async fn revoke_api_token(&self, token: &str, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE token_hash = $2")
            .bind(now.unix_timestamp())
            .bind(secret_hash(token))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn api_token_principal(&self, token: &str) -> Result<Principal> {
        let r = sqlx::query(
            "SELECT t.user_id FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.disabled_at IS NULL",
        )
        .bind(secret_hash(token))
        .fetch_optional(&self.pool)
        .await?
        .ok_or(SchedError::Unauthenticated)?;
        let id = UserId::parse(&r.try_get::<String, _>("user_id")?)?;
        self.principal(id).await
    }

    /// Loads a user with its unit path, as the authorization rules need it.
    pub async fn principal(&self, id: UserId) -> Result<Principal> {
        let user = self.user(id).await?;
        let unit_path = match &user.unit {
            Some(u) => self.unit(u).await?.path,
            None => String::new(),
        };
        Ok(Principal {
            user_id: user.id,
            username: user.username,
            role: user.role,
            unit: user.unit,
            unit_path,
        })
    }
}
