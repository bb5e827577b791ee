//! A commune hall on another network, as it meets the bridge in the field: its Chromium
//! runs in a network namespace of its own (a veth pair to the server, TEST-NET-2
//! addresses), so the page is not on loopback and the browser gives camera and
//! microphone only to a secure (HTTPS) page. The server serves HTTPS with its
//! self-signed certificate, pinned in both browsers by the public-key hash OpenSSL
//! computes from the file the server keeps. Then the same behind a firewall that lets
//! only TCP to port 443 out: media must come through the HTTPS port (ICE-TCP).
//!
//! Needs root (network namespaces, nftables) and Debian's Chromium: CI has both.

use anyhow::{Context, ensure};
use bridge_e2e::browser::{Browser, run_serial};
use bridge_e2e::netns::HallNet;
use bridge_e2e::room_page::{JOIN_TIMEOUT, assert_hears, assert_sees_playing};
use bridge_e2e::server::BridgeServer;
use serde_json::Value;
use std::time::{Duration, Instant};

// Both members: with a chair in the room only the floor is heard, and this test is
// about the network, not chairing.
const PROVINCE: &str = "Tỉnh Phú Thọ";
const HALL: &str = "Xã Thu Cúc";

#[test]
fn a_hall_on_another_network_joins_over_https() -> anyhow::Result<()> {
    run_serial(hall_joins(false))
}

#[test]
fn a_hall_behind_a_tcp_443_only_firewall_joins_through_the_https_port() -> anyhow::Result<()> {
    run_serial(hall_joins(true))
}

async fn hall_joins(firewalled: bool) -> anyhow::Result<()> {
    let net = HallNet::create()?;
    if firewalled {
        net.firewall_tcp_443_only()?;
    }
    let (server, pin) = BridgeServer::start_https_on(net.server_ip).await?;
    let pin_arg = vec![pin];

    let room = "hoi-nghi-tinh";
    let province_url = server.join_url(room, PROVINCE, "member");
    let hall_url = server.join_url(room, HALL, "member");
    ensure!(
        hall_url.starts_with(&format!("https://{}:443/", net.server_ip)),
        "the join link is not the HTTPS address: {hall_url}"
    );

    let province = Browser::launch_args(true, &pin_arg).await?;
    province.open_window(&province_url).await?;
    let hall = Browser::launch_in(&net, &pin_arg).await?;
    hall.open_window(&hall_url).await?;
    let opened = Instant::now();

    // A certificate error would still "load" (Chromium's error page): check the page.
    let secure = hall
        .eval("return [location.href, window.isSecureContext];")
        .await?;
    ensure!(
        secure[0]
            .as_str()
            .is_some_and(|h| h.starts_with("https://"))
            && secure[1] == Value::Bool(true),
        "the hall's page is not a secure context: {secure}"
    );
    // The first picture of the province: WebSocket, ICE, DTLS and a keyframe.
    hall.wait_true(
        &format!(
            "return [...document.querySelectorAll('#grid .tile:not(.self)')].some(t => \
               t.querySelector('.name').textContent === {name} && \
               t.querySelector('video') && t.querySelector('video').videoWidth > 0);",
            name = serde_json::to_string(PROVINCE)?
        ),
        JOIN_TIMEOUT,
        "the hall's first picture of the province",
    )
    .await?;
    let first_frame = opened.elapsed();
    let mode = hall.eval("return window.bridge.mediaMode;").await?;
    ensure!(
        mode == "full",
        "the hall's camera and microphone: {mode} (a secure page gets both)"
    );

    assert_sees_playing(&hall, HALL, PROVINCE).await?;
    assert_hears(&hall, HALL, PROVINCE).await?;
    assert_sees_playing(&province, PROVINCE, HALL).await?;
    assert_hears(&province, PROVINCE, HALL).await?;

    // The join token left the address bar once read (screens, history, proxies' logs),
    // and a reload still joins (the tab keeps it).
    let search = hall.eval("return location.search;").await?;
    ensure!(
        !search.as_str().unwrap_or_default().contains("t="),
        "token still in the URL: {search}"
    );
    hall.eval("location.reload(); return true;").await?;
    hall.wait_true(
        "return !!window.bridge && window.bridge.state === 'connected';",
        JOIN_TIMEOUT,
        "the hall's page to join again after a reload",
    )
    .await?;
    assert_sees_playing(&hall, HALL, PROVINCE).await?;

    // Which way the hall's media went: UDP when it may, else TCP to the HTTPS port.
    let paths = hall.eval("return window.bridge.paths();").await?;
    for pc in ["publish", "subscribe"] {
        let path = &paths[pc];
        let protocol = path["protocol"].as_str().context("no selected path")?;
        let port = path["remotePort"].as_u64().unwrap_or(0);
        if firewalled {
            ensure!(
                protocol == "tcp" && port == 443,
                "{pc}: behind the firewall media must use TCP 443, took {path}"
            );
        } else {
            ensure!(
                protocol == "udp",
                "{pc}: an open network should use UDP, took {path}"
            );
        }
    }

    // Nothing alarming on the hall's page: connected, no error panel.
    let calm = hall
        .eval(
            "return {state: window.bridge.state, error: window.bridge.error, \
                     panel: document.getElementById('error-text')?.innerText ?? ''};",
        )
        .await?;
    ensure!(
        calm["state"] == "connected" && calm["error"].is_null() && calm["panel"] == "",
        "the hall's page: {calm}"
    );
    eprintln!(
        "hall on {} ({}): page open to the province's first picture in {first_frame:?}; paths {paths}",
        net.hall_ip,
        if firewalled { "TCP 443 only" } else { "open" },
    );
    hall.close().await?;
    province.close().await?;
    // Give the browsers' sockets a moment to close before the namespace goes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(())
}
