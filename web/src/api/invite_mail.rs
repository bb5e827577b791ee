//! E-mail invitations after a meeting is saved: each invited unit's accounts with an
//! address get the unit's own calendar copy (join link included); units an edit dropped
//! get a CANCEL. Runs in the background: mail never delays or fails the request.

use bridge_scheduler::ical::Method;
use bridge_scheduler::mail::{Invitation, invitation, mailbox};
use bridge_scheduler::meetings::MeetingView;
use bridge_scheduler::{Principal, UnitCode};

use super::ApiState;
use super::meetings::unit_calendar;

/// Queues the messages for a saved meeting; `before` lists the units invited before an
/// edit (those no longer invited are told it is cancelled for them).
pub(super) fn send(st: &ApiState, p: &Principal, view: &MeetingView, before: Vec<String>) {
    let Some(queue) = st.mail.clone() else {
        return;
    };
    let (st, p, view) = (st.clone(), p.clone(), view.clone());
    tokio::spawn(async move {
        let m = &view.meeting;
        let addresses = match st.db.invitation_addresses(m.id).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(meeting = %m.id, error = %e, "invitation mail not sent");
                return;
            }
        };
        let dropped: Vec<UnitCode> = before
            .iter()
            .filter(|u| {
                !view
                    .invitations
                    .iter()
                    .any(|i| i.unit.as_str() == u.as_str())
            })
            .filter_map(|u| UnitCode::parse(u).ok())
            .collect();
        let organizer = match st.db.unit(&m.organizer).await {
            Ok(u) => u.name,
            Err(_) => m.organizer.to_string(),
        };
        let mut jobs: Vec<(UnitCode, Vec<String>, Method)> = addresses
            .into_iter()
            .map(|(u, to)| {
                let method = if m.cancelled {
                    Method::Cancel
                } else {
                    Method::Request
                };
                (u, to, method)
            })
            .collect();
        for u in dropped {
            if let Ok(to) = st.db.unit_addresses(&u).await
                && !to.is_empty()
            {
                jobs.push((u, to, Method::Cancel));
            }
        }
        for (unit_code, to, method) in jobs {
            let result = async {
                let unit = st.db.unit(&unit_code).await.map_err(|e| e.to_string())?;
                let (ics, join_url) = unit_calendar(&st, &p, m, Some(&unit), method)
                    .await
                    .map_err(|e| e.detail)?;
                let to: Vec<_> = to.iter().filter_map(|a| mailbox(a).ok()).collect();
                let msg = invitation(
                    queue.from(),
                    &to,
                    &Invitation {
                        meeting: m,
                        organizer_name: &organizer,
                        unit_name: &unit.name,
                        method,
                        join_url: join_url.as_deref(),
                        ics,
                    },
                )
                .map_err(|e| e.to_string())?;
                queue.enqueue(msg);
                Ok::<_, String>(())
            }
            .await;
            if let Err(e) = result {
                tracing::error!(meeting = %m.id, unit = %unit_code, error = %e, "invitation mail not built");
            }
        }
    });
}
