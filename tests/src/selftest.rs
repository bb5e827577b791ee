//! The client's media plumbing checked without the server: a publish connection
//! offers to a second in-process connection that answers like the SFU would, and the
//! receiving side must find the tone and count the video without loss.

use crate::client::{ClientOptions, Gate, PcHandler, Shared, answer_subscribe, open_gate};
use crate::publish;
use crate::recv::Kind;
use crate::rtc_setup::build_pc;
use crate::signal::SignalSender;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCSessionDescription};

fn pump(mut rx: mpsc::UnboundedReceiver<Message>, to: Arc<dyn PeerConnection>) {
    tokio::spawn(async move {
        while let Some(Message::Text(t)) = rx.recv().await {
            let v: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            let c = &v["candidate"];
            let init = RTCIceCandidateInit {
                candidate: c["candidate"].as_str().unwrap().to_owned(),
                sdp_mid: c["sdpMid"].as_str().map(str::to_owned),
                sdp_mline_index: c["sdpMLineIndex"].as_u64().map(|i| i as u16),
                ..Default::default()
            };
            to.add_ice_candidate(init).await.unwrap();
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_connection_delivers_tone_and_video_to_an_answerer() {
    let (tx_a, rx_a) = mpsc::unbounded_channel();
    let (tx_b, rx_b) = mpsc::unbounded_channel();
    let shared_a = Arc::new(Shared::default());
    let shared_b = Arc::new(Shared::default());
    let (sender_a, sender_b) = (
        SignalSender::from_channel(tx_a),
        SignalSender::from_channel(tx_b),
    );
    let (gate_a, gate_b) = (
        Arc::new(Mutex::new(Gate::default())),
        Arc::new(Mutex::new(Gate::default())),
    );
    let pc_a = build_pc(
        Arc::new(PcHandler {
            pc: "publish",
            sender: sender_a.clone(),
            gate: gate_a.clone(),
            shared: shared_a.clone(),
        }),
        false,
    )
    .await
    .unwrap();
    let pc_b = build_pc(
        Arc::new(PcHandler {
            pc: "subscribe",
            sender: sender_b.clone(),
            gate: gate_b.clone(),
            shared: shared_b.clone(),
        }),
        false,
    )
    .await
    .unwrap();

    let opts = ClientOptions {
        tone_hz: Some(660.0),
        video_bps: Some(500_000),
        ..Default::default()
    };
    let (publisher, offer) = publish::prepare(&pc_a, &opts).await.unwrap();
    assert_eq!(offer["tracks"][0]["source"], "microphone");
    assert_eq!(offer["tracks"][1]["source"], "camera");
    let sdp = offer["sdp"].as_str().unwrap().to_owned();
    // The answering side runs the client's own subscribe_offer handling, and credits
    // what arrives through its mid map, as the server's `tracks` would fill it.
    shared_b.set_sub_pc(&pc_b);
    let answer = answer_subscribe(&pc_b, sdp).await.unwrap();
    shared_b.set_mids(
        offer["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                serde_json::json!({"track_id": format!("t-{}", t["mid"].as_str().unwrap()),
                    "participant_id": "e2e-stream", "source": t["source"], "mid": t["mid"]})
            })
            .collect(),
    );
    pc_a.set_remote_description(RTCSessionDescription::answer(answer).unwrap())
        .await
        .unwrap();
    pump(rx_a, pc_b.clone());
    pump(rx_b, pc_a.clone());
    open_gate(&gate_a, &sender_a);
    open_gate(&gate_b, &sender_b);
    let sender = publisher.start(pc_a.clone(), shared_a.clone(), opts);

    let deadline = Instant::now() + Duration::from_secs(30);
    let (tone, video) = loop {
        let (tone, video) = {
            let r = shared_b.received.lock().unwrap();
            (
                r.tone("e2e-stream", 0.5),
                r.snapshot("e2e-stream", Kind::Video),
            )
        };
        if let (Some(t), Some(v)) = (&tone, &video)
            && t.peak_share > 0.5
            && v.packets > 100
        {
            break (tone.unwrap(), video.unwrap());
        }
        assert!(Instant::now() < deadline, "tone {tone:?} video {video:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!((tone.peak_hz - 660.0).abs() <= 10.0, "{tone:?}");
    assert_eq!(video.lost, 0, "{video:?}");
    assert!(video.keyframes >= 1, "{video:?}");
    publisher.stop();
    sender.abort();
    pc_a.close().await.unwrap();
    pc_b.close().await.unwrap();
}
