//! Invitations by e-mail: one message per invited unit to its accounts' addresses, with
//! the unit's iCalendar copy (iMIP, RFC 6047: a `text/calendar; method=…` part).
//!
//! Building a message is pure ([`invitation`]); sending goes through a bounded queue
//! drained by one background task ([`MailQueue`]), so a slow or absent mail server never
//! delays or fails a secretary's request. Failures are logged and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::db::Db;
use crate::error::Result;
use crate::ical::Method;
use crate::ids::{MeetingId, UnitCode};
use crate::meetings::Meeting;

/// Messages waiting to be sent; beyond this, new ones are dropped (and counted) rather
/// than holding memory while the mail server is down.
pub const QUEUE_LEN: usize = 10_000;
/// Attempts per message, with these pauses in between.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(15)];

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid e-mail address {0:?}")]
    Address(String),
    #[error("SMTP settings: {0}")]
    Config(String),
    #[error("building the message: {0}")]
    Build(String),
}

/// What one unit's invitation says.
pub struct Invitation<'a> {
    pub meeting: &'a Meeting,
    pub organizer_name: &'a str,
    pub unit_name: &'a str,
    pub method: Method,
    /// The unit's own join link (none once cancelled).
    pub join_url: Option<&'a str>,
    /// The unit's iCalendar copy.
    pub ics: String,
}

/// "08:00 02/03/2026" in Hà Nội; a stored time with no Hà Nội form (past year 9999
/// there) is written in UTC and says so.
fn hanoi(t: OffsetDateTime) -> String {
    let Some((l, utc)) = crate::meetings::range::display_time(t) else {
        return t.unix_timestamp().to_string();
    };
    let zone = if utc { " UTC" } else { "" };
    format!(
        "{:02}:{:02} {:02}/{:02}/{}{zone}",
        l.hour(),
        l.minute(),
        l.day(),
        u8::from(l.month()),
        l.year()
    )
}

/// Parses `Name <addr>` or a bare address.
pub fn mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.trim()
        .parse()
        .map_err(|_| MailError::Address(s.to_owned()))
}

/// The message for one invited unit: Vietnamese text (English below) and the calendar.
pub fn invitation(
    from: &Mailbox,
    to: &[Mailbox],
    i: &Invitation<'_>,
) -> Result<Message, MailError> {
    let m = i.meeting;
    let (vi, en, method) = match i.method {
        Method::Request if m.version == 0 => ("Giấy mời họp", "Meeting invitation", "REQUEST"),
        Method::Request => ("Thay đổi cuộc họp", "Meeting changed", "REQUEST"),
        Method::Cancel => ("Hủy cuộc họp", "Meeting cancelled", "CANCEL"),
    };
    let urgent = if m.urgent { "[KHẨN] " } else { "" };
    let when = format!(
        "{} – {} (giờ Hà Nội / Hà Nội time)",
        hanoi(m.starts_at),
        hanoi(m.ends_at)
    );
    let agenda: String = m
        .agenda
        .iter()
        .enumerate()
        .map(|(n, a)| format!("  {}. {a}\n", n + 1))
        .collect();
    let link = i.join_url.map_or_else(String::new, |u| {
        format!(
            "\nVào phòng họp / Join: {u}\n(Liên kết chỉ dành cho {} / for this unit only.)\n",
            i.unit_name
        )
    });
    let text = format!(
        "Kính gửi: {unit}\n\n{vi}: {title}\nĐơn vị chủ trì: {org}\nThời gian: {when}\nĐịa điểm: {place}\n\
         {agenda_vi}{agenda}{link}\n---\n{en}: {title}\nOrganizer: {org}\nWhen: {when}\nWhere: {place}\n",
        unit = i.unit_name,
        title = m.title,
        org = i.organizer_name,
        place = if m.location.is_empty() {
            "Trực tuyến"
        } else {
            &m.location
        },
        agenda_vi = if agenda.is_empty() {
            ""
        } else {
            "Chương trình:\n"
        },
    );
    let calendar = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
        .map_err(|e| MailError::Build(e.to_string()))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(format!("{urgent}{vi}: {}", m.title));
    for mb in to {
        builder = builder.to(mb.clone());
    }
    builder
        .multipart(
            MultiPart::mixed()
                .singlepart(SinglePart::plain(text))
                .singlepart(Attachment::new("invite.ics".into()).body(i.ics.clone(), calendar)),
        )
        .map_err(|e| MailError::Build(e.to_string()))
}

/// Counters for the health endpoint and logs.
#[derive(Debug, Default, Serialize)]
pub struct MailStats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
}

/// The sending side: a bounded queue and one task that talks SMTP.
#[derive(Clone)]
pub struct MailQueue {
    tx: mpsc::Sender<Message>,
    from: Mailbox,
    stats: Arc<MailStats>,
}

impl MailQueue {
    /// `url` as lettre reads it: `smtp://host:25` (plain), `smtp://host:587?tls=required`
    /// (STARTTLS), `smtps://user:password@host` (TLS from the start). Must be called
    /// inside a tokio runtime.
    pub fn start(url: &str, from: &str) -> Result<MailQueue, MailError> {
        let from = mailbox(from)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(e.to_string()))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let (tx, mut rx) = mpsc::channel::<Message>(QUEUE_LEN);
        let stats = Arc::new(MailStats::default());
        let counters = stats.clone();
        tokio::spawn(async move {
            while let Some(msg) = rx.recv().await {
                let mut attempt = 0;
                loop {
                    match transport.send(msg.clone()).await {
                        Ok(_) => {
                            counters.sent.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(e) if attempt < RETRY_PAUSES.len() => {
                            tracing::warn!(error = %e, attempt, "sending mail failed; retrying");
                            tokio::time::sleep(RETRY_PAUSES[attempt]).await;
                            attempt += 1;
                        }
                        Err(e) => {
                            counters.failed.fetch_add(1, Ordering::Relaxed);
                            tracing::error!(error = %e, "sending mail failed; giving up");
                            break;
                        }
                    }
                }
            }
        });
        Ok(MailQueue { tx, from, stats })
    }

    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    pub fn stats(&self) -> &MailStats {
        &self.stats
    }

    /// Queues a message; false (and counted) when the queue is full.
    pub fn enqueue(&self, msg: Message) -> bool {
        let ok = self.tx.try_send(msg).is_ok();
        if !ok {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!("mail queue full: invitation dropped");
        }
        ok
    }
}

impl Db {
    /// E-mail addresses of the accounts of each invited unit (units without any are left
    /// out), in unit order.
    pub async fn invitation_addresses(
        &self,
        meeting: MeetingId,
    ) -> Result<Vec<(UnitCode, Vec<String>)>> {
        let rows = sqlx::query(
            "SELECT i.unit_code, us.email FROM invitations i \
             JOIN users us ON us.unit_code = i.unit_code \
             WHERE i.meeting_id = $1 AND us.email IS NOT NULL ORDER BY i.unit_code, us.email",
        )
        .bind(meeting.to_string())
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(UnitCode, Vec<String>)> = Vec::new();
        for r in rows {
            let unit = UnitCode::from_db(r.try_get("unit_code")?);
            let email: String = r.try_get("email")?;
            match out.last_mut() {
                Some((u, v)) if *u == unit => v.push(email),
                _ => out.push((unit, vec![email])),
            }
        }
        Ok(out)
    }
}

impl Db {
    /// E-mail addresses of one unit's accounts.
    pub async fn unit_addresses(&self, unit: &UnitCode) -> Result<Vec<String>> {
        sqlx::query(
            "SELECT email FROM users WHERE unit_code = $1 AND email IS NOT NULL ORDER BY email",
        )
        .bind(unit.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok(r.try_get("email")?))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked() {
        assert!(mailbox("Văn phòng <vp@phutho.gov.vn>").is_ok());
        assert!(mailbox("not an address").is_err());
    }
}
