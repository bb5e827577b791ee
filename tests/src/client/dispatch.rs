//! The client's dispatcher: server messages applied in order (descriptions,
//! candidates, the mid map, layers), the rest recorded for the test to read.
//!
//! One message at a time: a `slots` message that arrives while a `subscribe_offer` is
//! being applied waits in the channel until the offer's mid map is in place, so an
//! offer never overwrites a newer `slots` map.

use super::*;

/// Applies server messages in order: descriptions, candidates; records the rest.
pub(super) async fn dispatch(
    mut rx: mpsc::UnboundedReceiver<Incoming>,
    sender: SignalSender,
    shared: Arc<Shared>,
    pub_pc: Option<Arc<dyn PeerConnection>>,
    sub_pc: Arc<dyn PeerConnection>,
    sub_gate: Arc<Mutex<Gate>>,
    tcp_only: bool,
) {
    let mut sub_tcp_dialed = false;
    // Candidates that arrive before their connection has a remote description.
    let mut pending_pub: Vec<RTCIceCandidateInit> = Vec::new();
    let mut pending_sub: Vec<RTCIceCandidateInit> = Vec::new();
    while let Some(inc) = rx.recv().await {
        let msg = match inc {
            Incoming::Msg(v) => v,
            Incoming::Closed(code) => {
                if let Ok(mut c) = shared.closed.lock() {
                    *c = Some(code);
                }
                break;
            }
        };
        let ty = msg["type"].as_str().unwrap_or_default().to_owned();
        if ty == "pong" {
            shared.pongs.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if let Ok(mut e) = shared.events.lock() {
            e.push(msg.clone());
        }
        let room_changed = shared.room.lock().is_ok_and(|mut r| r.apply(&msg));
        if room_changed {
            shared.room_version.fetch_add(1, Ordering::Relaxed);
        }
        match ty.as_str() {
            "subscribe_offer" => {
                shared.subscribe_offers.fetch_add(1, Ordering::Relaxed);
                let tracks = msg["tracks"].as_array().cloned().unwrap_or_default();
                let sdp = msg["sdp"].as_str().unwrap_or_default().to_owned();
                match answer_subscribe(&sub_pc, sdp.clone()).await {
                    Ok(answer) => {
                        // Applied: its m-lines carry what its `tracks` say.
                        shared.set_mids(tracks);
                        if tcp_only && !sub_tcp_dialed {
                            sub_tcp_dialed = true;
                            dial_tcp_candidates_in(&sub_pc, &sdp, &shared).await;
                        }
                        let msg = json!({"type": "subscribe_answer", "sdp": answer}).to_string();
                        shared
                            .largest_answer
                            .fetch_max(msg.len() as u64, Ordering::Relaxed);
                        let _ = sender.send_text(msg);
                        open_gate(&sub_gate, &sender);
                        for c in pending_sub.drain(..) {
                            if let Err(e) = sub_pc.add_ice_candidate(c).await {
                                shared.fail(format!("subscribe add_ice_candidate: {e}"));
                            }
                        }
                    }
                    Err(e) => shared.fail(format!("subscribe_offer: {e:#}")),
                }
            }
            "publish_answer" => {
                let Some(pc) = &pub_pc else {
                    shared.fail("publish_answer without a publish connection".into());
                    continue;
                };
                let sdp = msg["sdp"].as_str().unwrap_or_default().to_owned();
                let res = match RTCSessionDescription::answer(sdp.clone()) {
                    Ok(d) => pc.set_remote_description(d).await,
                    Err(e) => Err(e),
                };
                match res {
                    Ok(()) => {
                        if tcp_only {
                            dial_tcp_candidates_in(pc, &sdp, &shared).await;
                        }
                        for c in pending_pub.drain(..) {
                            if let Err(e) = pc.add_ice_candidate(c).await {
                                shared.fail(format!("publish add_ice_candidate: {e}"));
                            }
                        }
                    }
                    Err(e) => shared.fail(format!("publish_answer: {e}")),
                }
            }
            "candidate" => {
                let c = &msg["candidate"];
                let init = RTCIceCandidateInit {
                    candidate: c["candidate"].as_str().unwrap_or_default().to_owned(),
                    sdp_mid: c["sdpMid"].as_str().map(str::to_owned),
                    sdp_mline_index: c["sdpMLineIndex"].as_u64().map(|i| i as u16),
                    ..Default::default()
                };
                let (pc, pending) = match msg["pc"].as_str() {
                    Some("publish") => match &pub_pc {
                        Some(pc) => (pc.clone(), &mut pending_pub),
                        None => continue,
                    },
                    _ => (sub_pc.clone(), &mut pending_sub),
                };
                if init.candidate.is_empty() {
                    continue; // end-of-candidates
                }
                if pc.remote_description().await.is_some() {
                    if let Err(e) = pc.add_ice_candidate(init).await {
                        shared.fail(format!("add_ice_candidate: {e}"));
                    }
                } else {
                    pending.push(init);
                }
            }
            "track_published"
                if shared
                    .me
                    .get()
                    .is_some_and(|me| msg["participant_id"] == me.as_str()) =>
            {
                if msg["source"] == "camera"
                    && let (Some(t), Ok(mut c)) =
                        (msg["track_id"].as_str(), shared.camera_track.lock())
                {
                    *c = Some(t.to_owned());
                }
            }
            "slots" => {
                shared.slots_messages.fetch_add(1, Ordering::Relaxed);
                shared.set_mids(msg["tracks"].as_array().cloned().unwrap_or_default());
            }
            "layers" => apply_layers(&shared, &msg),
            "active_speakers" => {
                let ids = msg["participants"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|p| p.as_str().map(str::to_owned))
                        .collect()
                });
                if let (Some(ids), Ok(mut s)) = (ids, shared.speakers.lock()) {
                    *s = ids;
                }
            }
            _ => {}
        }
    }
}

/// The server's `layers` message: pause the encodings of our camera nobody receives.
/// Only the camera is ever simulcast; until its `track_published` arrives any `layers`
/// message can only be about it.
fn apply_layers(shared: &Shared, msg: &Value) {
    let ours = shared
        .camera_track
        .lock()
        .ok()
        .and_then(|c| c.clone())
        .is_none_or(|t| msg["track"].as_str() == Some(t.as_str()));
    let Some(active) = msg["active"].as_array() else {
        shared.fail(format!("layers without an `active` list: {msg}"));
        return;
    };
    if !ours {
        return;
    }
    if let Ok(mut p) = shared.layers_paused.lock() {
        for (i, slot) in p.iter_mut().enumerate() {
            // An encoding the server does not mention stays as it is.
            if let Some(on) = active.get(i).and_then(Value::as_bool) {
                *slot = !on;
            }
        }
    }
    shared.layers_messages.fetch_add(1, Ordering::Relaxed);
}

/// webrtc-rs 0.21 dials a remote passive ICE-TCP candidate only when it arrives through
/// `add_ice_candidate`, not when it is in the remote description; browsers dial both.
/// So the passive TCP candidates of a description are added again, as if trickled.
async fn dial_tcp_candidates_in(pc: &Arc<dyn PeerConnection>, sdp: &str, shared: &Shared) {
    let mut mid: Option<String> = None;
    let mut index: i32 = -1;
    let mut done = false;
    for line in sdp.lines() {
        if line.starts_with("m=") {
            index += 1;
            mid = None;
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(m.trim().to_owned());
        } else if let Some(c) = line.strip_prefix("a=")
            && c.starts_with("candidate:")
            && c.contains(" tcp ")
            && c.contains("tcptype passive")
            && !done
        {
            // With BUNDLE one m-section's candidates serve all; the first suffices.
            let init = RTCIceCandidateInit {
                candidate: c.trim().to_owned(),
                sdp_mid: mid.clone(),
                sdp_mline_index: u16::try_from(index.max(0)).ok(),
                ..Default::default()
            };
            if let Err(e) = pc.add_ice_candidate(init).await {
                shared.fail(format!("adding the SDP's ICE-TCP candidate: {e}"));
            }
            if line.contains(" 1 tcp ") {
                done = true;
            }
        }
    }
}

pub(crate) async fn answer_subscribe(
    pc: &Arc<dyn PeerConnection>,
    sdp: String,
) -> anyhow::Result<String> {
    pc.set_remote_description(RTCSessionDescription::offer(sdp.clone())?)
        .await?;
    let answer = pc.create_answer(None).await?;
    pc.set_local_description(answer).await?;
    let local = pc
        .local_description()
        .await
        .ok_or_else(|| anyhow!("no local description after set_local_description"))?;
    Ok(local.sdp)
}
