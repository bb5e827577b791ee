//! Prints a real signaling session, both directions, for docs/protocol.md: two
//! participants join a room on a fresh `bridge`, publish, exchange media for a moment,
//! and the first leaves. SDP bodies and tokens are shortened.
//!
//! `cargo build -p bridge-web && cargo run -p bridge-e2e --example capture_session`

use bridge_e2e::client::{Client, ClientOptions, wait_until};
use bridge_e2e::server::BridgeServer;
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = BridgeServer::start().await?;
    let b = Client::join(&server, "demo", "Huyện Tân Sơn", ClientOptions::default()).await?;
    // Only this participant's socket is traced.
    let token = server.token("demo", "Xã Thanh Sơn", "member");
    println!("--- session of \"Xã Thanh Sơn\" (C = client, S = server) ---");
    let a = Client::connect_traced(&server.ws_url(), &token, ClientOptions::default()).await?;
    wait_until(Duration::from_secs(20), "media from the other", || {
        a.packets_from(&b.id) > 50
    })
    .await?;
    a.leave(Duration::from_secs(5)).await?;
    Ok(())
}
