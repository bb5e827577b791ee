//! The scheduler's REST API as one signed-in account sees it: sign in with the test
//! password ([`crate::sched_pages::PASSWORD`]), then requests carrying the session cookie.

use crate::sched_pages::PASSWORD;
use anyhow::{Context, ensure};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

pub struct ApiSession {
    http: reqwest::Client,
    /// `http://HOST:PORT/api`
    base: String,
    cookie: String,
}

impl ApiSession {
    /// Signs `username` in at `origin` (`http://HOST:PORT`).
    pub async fn login(origin: &str, username: &str) -> anyhow::Result<Self> {
        Self::login_with(reqwest::Client::new(), origin, username).await
    }

    /// The same at an `https://` origin with the server's self-signed certificate,
    /// not checked here (the browsers of those tests pin it).
    pub async fn login_self_signed(origin: &str, username: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()?;
        Self::login_with(http, origin, username).await
    }

    async fn login_with(
        http: reqwest::Client,
        origin: &str,
        username: &str,
    ) -> anyhow::Result<Self> {
        let base = format!("{origin}/api");
        let resp = http
            .post(format!("{base}/auth/login"))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await?;
        ensure!(
            resp.status() == StatusCode::OK,
            "login {username}: {}",
            resp.status()
        );
        let cookie = resp
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .context("no session cookie")?
            .to_owned();
        Ok(ApiSession { http, base, cookie })
    }

    /// A request to `path` under `/api`, signed in.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, &self.cookie)
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// GET returning JSON; any status but 200 is an error naming the answer.
    pub async fn json(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self.get(path).send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        ensure!(status == StatusCode::OK, "GET {path}: {status} {text}");
        Ok(serde_json::from_str(&text)?)
    }

    /// Sends `body` as JSON; any status but 2xx is an error. `Null` for an empty answer.
    pub async fn call(&self, method: Method, path: &str, body: Value) -> anyhow::Result<Value> {
        let resp = self
            .request(method.clone(), path)
            .json(&body)
            .send()
            .await?;
        let status = resp.status();
        let text = resp.text().await?;
        ensure!(status.is_success(), "{method} {path}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// GET of a file; any status but 200 is an error.
    pub async fn bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let resp = self.get(path).send().await?;
        ensure!(
            resp.status() == StatusCode::OK,
            "GET {path}: {}",
            resp.status()
        );
        Ok(resp.bytes().await?.to_vec())
    }

    pub async fn status(&self, path: &str) -> anyhow::Result<StatusCode> {
        Ok(self.get(path).send().await?.status())
    }
}

impl ApiSession {
    /// Schedules a one-hour meeting of the province (25) with ward 07888 invited, from
    /// `starts_at` to `ends_at` (RFC 3339; the caller writes them, this library has no
    /// date crate); returns its id.
    pub async fn schedule_ward_meeting(
        &self,
        title: &str,
        starts_at: &str,
        ends_at: &str,
    ) -> anyhow::Result<String> {
        let created = self
            .call(
                reqwest::Method::POST,
                "/meetings",
                serde_json::json!({
                    "title": title,
                    "agenda": ["Tình hình"],
                    "organizer": "25",
                    "location": "Hội trường",
                    "starts_at": starts_at,
                    "ends_at": ends_at,
                    "participants": [{"type": "unit", "code": "07888"}],
                }),
            )
            .await?;
        created["meeting"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no meeting id in {created}"))
    }
}
