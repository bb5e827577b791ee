//! What a person checks on the room page, read off the page itself: the other site's
//! tile with a picture that plays, and its name in the participant list.

use crate::browser::{Browser, as_list};
use anyhow::{Context, ensure};
use serde_json::Value;
use std::time::Duration;

/// How long a page may take to show another site after both joined.
pub const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Remote camera tiles as the user sees them: name shown, video size and play position.
pub const REMOTE_VIDEOS: &str = r#"
return [...document.querySelectorAll('#grid .tile:not(.self)[data-source="camera"]')].map(t => {
  const v = t.querySelector('video');
  return { pid: t.dataset.participantId, name: t.querySelector('.name').textContent,
           width: v.videoWidth, time: v.currentTime, paused: v.paused };
});"#;

fn field_f64(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// Frames decoded from `pid`'s camera, from the page's own getStats.
pub async fn frames_decoded_from(b: &Browser, pid: &str) -> anyhow::Result<f64> {
    let stats = b.eval("return window.bridge.inbound();").await?;
    Ok(as_list(&stats)
        .iter()
        .filter(|s| s.get("participant_id").and_then(Value::as_str) == Some(pid))
        .filter(|s| s.get("source").and_then(Value::as_str) == Some("camera"))
        .map(|s| field_f64(s, "framesDecoded"))
        .sum())
}

/// Checks, in the current window, that the participant named `other` is shown with a
/// playing video: width > 0, currentTime advancing and framesDecoded growing over ~1 s.
pub async fn assert_sees_playing(b: &Browser, me: &str, other: &str) -> anyhow::Result<()> {
    let wait = format!(
        "return !!window.bridge && window.bridge.state === 'connected' && \
         [...document.querySelectorAll('#grid .tile:not(.self)[data-source=\"camera\"]')].some(t => \
           t.querySelector('.name').textContent === {name} && t.querySelector('video').videoWidth > 0);",
        name = serde_json::to_string(other)?
    );
    b.wait_true(
        &wait,
        JOIN_TIMEOUT,
        &format!("{me} to show {other}'s video"),
    )
    .await?;

    let find = |list: &Value| -> Option<Value> {
        as_list(list)
            .into_iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some(other))
    };
    let pid = find(&b.eval(REMOTE_VIDEOS).await?)
        .context("remote tile vanished")?
        .get("pid")
        .and_then(Value::as_str)
        .context("tile without participant id")?
        .to_owned();
    // A tile that already showed a picture passes the wait above at once, even while
    // its video is being switched (a screen share ended, a layer changed) and waits for
    // the next keyframe. Judge the picture once frames flow again, up to 10 s.
    let settle_by = std::time::Instant::now() + Duration::from_secs(10);
    let mut seen = frames_decoded_from(b, &pid).await?;
    while std::time::Instant::now() < settle_by {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = frames_decoded_from(b, &pid).await?;
        if now >= seen + 3.0 {
            break;
        }
        seen = now;
    }
    let before = find(&b.eval(REMOTE_VIDEOS).await?).context("remote tile vanished")?;
    let frames_before = frames_decoded_from(b, &pid).await?;
    // 3 s, so that a picture that has just appeared may still wait once for the
    // keyframe of the layer its link estimate settles on (at most one second, the
    // keyframe gate) and yet must play on average at 4 frames per second.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let after = find(&b.eval(REMOTE_VIDEOS).await?).context("remote tile vanished")?;
    let frames_after = frames_decoded_from(b, &pid).await?;

    ensure!(
        field_f64(&after, "width") > 0.0,
        "{me}: {other}'s video has no size: {after}"
    );
    ensure!(
        after.get("paused") == Some(&Value::Bool(false)),
        "{me}: {other}'s video is paused"
    );
    let played = field_f64(&after, "time") - field_f64(&before, "time");
    ensure!(
        played > 1.5,
        "{me}: {other}'s video advanced only {played:.2} s in 3 s"
    );
    let decoded = frames_after - frames_before;
    ensure!(
        decoded >= 12.0,
        "{me}: only {decoded} frames decoded from {other} in 3 s"
    );

    // The participant list names the other site too.
    let listed = b
        .eval("return document.getElementById('people-list').innerText;")
        .await?;
    ensure!(
        listed.as_str().unwrap_or_default().contains(other),
        "{me}: participant list does not name {other}: {listed}"
    );
    eprintln!("{me} sees {other}: +{played:.2} s played, +{decoded} frames decoded");
    Ok(())
}

/// Waits until the current window receives `other`'s microphone with sound in it (the
/// fake device's tone), from the page's own getStats.
pub async fn assert_hears(b: &Browser, me: &str, other: &str) -> anyhow::Result<()> {
    let heard = format!(
        "const o = window.bridge.participants.find(p => p.name === {name}); \
         if (!o) return false; \
         return window.bridge.inbound().then(list => list.some(s => \
           s.participant_id === o.id && s.kind === 'audio' && s.totalAudioEnergy > 0));",
        name = serde_json::to_string(other)?
    );
    b.wait_true(&heard, JOIN_TIMEOUT, &format!("{me} to hear {other}"))
        .await
}
