//! What an account holder and an administrator change about an account after it exists:
//! its password (by its holder, who must know the current one) and whether it may sign
//! in at all (by an administrator, or the operator's `bridge users disable`).

use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

use crate::accounts::{MIN_PASSWORD_CHARS, hash_password, secret_hash, verify_password};
use crate::authz::{self, Principal};
use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::UserId;

/// Whether an account may sign in, as the administrator's routes answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountState {
    pub username: String,
    pub disabled: bool,
}

fn check_new_password(current: &str, new: &str) -> Result<()> {
    if new.chars().count() < MIN_PASSWORD_CHARS {
        return Err(SchedError::invalid(
            "password",
            format!("at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if new == current {
        return Err(SchedError::invalid(
            "password",
            "the new password must differ from the current one",
        ));
    }
    Ok(())
}

impl Db {
    /// The holder of `actor`'s account changes its password. Every other session of the
    /// account ends (a password change is what someone does who fears it is known);
    /// `keep_session` (the cookie of the request, if any) stays signed in.
    pub async fn change_password(
        &self,
        actor: &Principal,
        current: &str,
        new: &str,
        keep_session: Option<&str>,
    ) -> Result<()> {
        check_new_password(current, new)?;
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(actor.user_id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| SchedError::not_found("account", actor.username.clone()))?;
        let phc: String = row.try_get("password_hash")?;
        let (current, new) = (current.to_owned(), new.to_owned());
        // Both Argon2 runs on the bounded password threads, like a login.
        let hashed = crate::hashing::run(move || {
            if verify_password(&current, &phc) {
                hash_password(&new).map(Some)
            } else {
                Ok(None)
            }
        })
        .await
        .ok_or_else(|| SchedError::Password("the password threads are gone".into()))??;
        let Some(phc) = hashed else {
            return Err(SchedError::WrongPassword);
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(phc)
            .bind(actor.user_id.to_string())
            .execute(&mut *tx)
            .await?;
        // An empty hash matches no session: all of them end when there is no cookie.
        let keep = keep_session.map(secret_hash).unwrap_or_default();
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(actor.user_id.to_string())
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An administrator disables or enables `username` (never their own account: the
    /// last administrator would lock everyone out).
    pub async fn set_disabled_by(
        &self,
        actor: &Principal,
        username: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<AccountState> {
        if !authz::can_administer(actor) {
            return Err(SchedError::Forbidden(
                "only an administrator may disable or enable accounts".into(),
            ));
        }
        if actor.username == username.trim().to_lowercase() {
            return Err(SchedError::Forbidden(
                "you may not disable or enable your own account".into(),
            ));
        }
        self.set_disabled(username, disabled, now).await
    }

    /// Disables or enables `username` (the operator's CLI; the API checks the caller
    /// first). Disabling takes effect at once: every session of the account ends and
    /// every API token is revoked (enabling brings neither back: the holder signs in
    /// again and asks for new tokens).
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<AccountState> {
        let username = username.trim().to_lowercase();
        let row = sqlx::query("SELECT id FROM users WHERE username = $1")
            .bind(username.clone())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| SchedError::not_found("account", username.clone()))?;
        let id = UserId::parse(&row.try_get::<String, _>("id")?)?.to_string();
        let t = now.unix_timestamp();
        let mut tx = self.pool.begin().await?;
        if disabled {
            // COALESCE: disabling twice keeps the first time.
            sqlx::query("UPDATE users SET disabled_at = COALESCE(disabled_at, $1) WHERE id = $2")
                .bind(t)
                .bind(id.clone())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.clone())
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
            )
            .bind(t)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query("UPDATE users SET disabled_at = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(AccountState { username, disabled })
    }
}
