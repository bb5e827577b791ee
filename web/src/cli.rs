//! The command line, and `bridge token`.

use anyhow::{Context, bail};
use bridge_token::{Grant, Role, TokenKey};
use clap::{Args, Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Parser, Debug)]
#[command(
    name = "bridge",
    version,
    about = "Cầu truyền hình: a video-conference bridge"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no subcommand, `serve` runs with these options.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the bridge: web UI, signaling and media (the default).
    Serve(ServeArgs),
    /// Print a join link for one person in one room.
    Token(TokenArgs),
    /// The administrative unit tree.
    #[command(subcommand)]
    Units(UnitsCommand),
    /// Scheduler accounts.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Print the demo room's two join links again (a chair and a hall, valid 12 h).
    DemoLinks(DemoLinksArgs),
}

#[derive(Args, Debug)]
pub struct DemoLinksArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The server's address as people open it, e.g. https://10.0.0.5.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
}

#[derive(Subcommand, Debug)]
pub enum UnitsCommand {
    /// Import units from CSV (`code,parent_code,level,kind,name`); all or nothing.
    Import(UnitsImportArgs),
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create an account (password from --password, else generated and printed).
    Add(UsersAddArgs),
    /// Disable an account: it cannot sign in, its sessions end and its API tokens are
    /// revoked at once (a running server sees it on the next request).
    Disable(UsersStateArgs),
    /// Enable a disabled account again.
    Enable(UsersStateArgs),
}

#[derive(Args, Debug)]
pub struct UsersStateArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[arg(long)]
    pub username: String,
}

#[derive(Args, Debug)]
pub struct UnitsImportArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The CSV file.
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct UsersAddArgs {
    #[command(flatten)]
    pub data: DataArg,
    #[arg(long)]
    pub username: String,
    /// admin, secretary, chair or site.
    #[arg(long)]
    pub role: String,
    /// The account's unit code (required except for admin).
    #[arg(long)]
    pub unit: Option<String>,
    #[arg(long)]
    pub password: Option<String>,
    /// Name shown in the UI (default: the username).
    #[arg(long)]
    pub display_name: Option<String>,
    /// Where this account receives invitations by e-mail (when SMTP is configured).
    #[arg(long)]
    pub email: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct DataArg {
    /// Data directory: database and token secret (created on first run).
    #[arg(long = "data", value_name = "DIR", default_value = "./data")]
    pub dir: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Where the web UI, the API and /ws listen (port 0: any free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// The one UDP port for all media (0: any free port).
    #[arg(long, value_name = "PORT", default_value_t = 50000)]
    pub media_port: u16,
    /// The ICE-TCP fallback port (default: the media port number).
    #[arg(long, value_name = "PORT")]
    pub tcp_port: Option<u16>,
    /// The address announced to browsers; media then binds on all interfaces.
    /// Without it, media binds on the HTTP address's IP.
    #[arg(long, value_name = "IP")]
    pub public_ip: Option<IpAddr>,
    /// Base of the printed links, and whether session cookies are `Secure` (default:
    /// https://PUBLIC-IP[:PORT] with TLS, else http://HTTP-ADDR).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Serve HTTPS with a certificate made once and kept in the data directory
    /// (`tls/`), for a pilot on a LAN; its fingerprint is printed at start.
    #[arg(long, value_name = "MODE", value_enum, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls: Option<TlsMode>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); reloaded on SIGHUP
    /// and when the file changes.
    #[arg(
        long,
        value_name = "PEM",
        env = "BRIDGE_TLS_CERT",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(
        long,
        value_name = "PEM",
        env = "BRIDGE_TLS_KEY",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Where HTTPS listens when TLS is on; ICE-TCP for halls that may reach only this
    /// port is accepted on it too (default: the HTTP address's IP, port 8443; use
    /// 0.0.0.0:443 on a server that halls reach through strict firewalls).
    #[arg(long, value_name = "ADDR")]
    pub https: Option<SocketAddr>,
    /// A DNS name the self-signed certificate covers besides localhost and the
    /// server's addresses (repeatable).
    #[arg(long = "tls-name", value_name = "NAME")]
    pub tls_names: Vec<String>,
    /// Largest document a secretary may attach to a meeting, in MB.
    #[arg(long, value_name = "MB", env = "BRIDGE_MAX_UPLOAD_MB", default_value_t = 50,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_upload_mb: u64,
    /// Send invitations by e-mail through this SMTP server: smtp://host:25,
    /// smtp://host:587?tls=required (STARTTLS) or smtps://user:password@host.
    #[arg(long, value_name = "URL", env = "BRIDGE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender of invitation mail.
    #[arg(
        long,
        value_name = "ADDRESS",
        env = "BRIDGE_SMTP_FROM",
        default_value = "Cầu truyền hình <no-reply@localhost>"
    )]
    pub smtp_from: String,
    /// Sign final minutes with this PKCS#12 (.p12/.pfx) certificate file; its password
    /// is read from the environment variable BRIDGE_SIGNING_P12_PASSWORD.
    #[arg(long, value_name = "PATH", env = "BRIDGE_SIGNING_P12")]
    pub signing_p12: Option<PathBuf>,
    /// The longest a join link may admit (from its start to its expiry): longer ones
    /// are refused at join (`token_lifetime`), and the scheduler's links end by then.
    #[arg(long, value_name = "DURATION", env = "BRIDGE_MAX_TOKEN_LIFETIME",
          default_value = "7d", value_parser = parse_ttl)]
    pub max_token_lifetime: Duration,
    /// A signed-in web session ends after this long without a request.
    #[arg(long, value_name = "DURATION", env = "BRIDGE_SESSION_IDLE",
          default_value = "8h", value_parser = parse_ttl)]
    pub session_idle: Duration,
    /// A signed-in web session ends this long after sign-in, however busy.
    #[arg(long, value_name = "DURATION", env = "BRIDGE_SESSION_MAX",
          default_value = "7d", value_parser = parse_ttl)]
    pub session_max: Duration,
    #[command(flatten)]
    pub data: DataArg,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// A self-signed certificate kept in the data directory.
    SelfSigned,
}

impl ServeArgs {
    /// Whether HTTPS is served (and plain HTTP only redirects to it).
    pub fn tls_on(&self) -> bool {
        self.tls.is_some() || self.tls_cert.is_some()
    }

    /// The HTTPS address: `--https`, else the HTTP address's IP on port 8443.
    pub fn https_addr(&self) -> SocketAddr {
        self.https
            .unwrap_or_else(|| SocketAddr::new(self.http.ip(), DEFAULT_HTTPS_PORT))
    }
}

/// The HTTPS port when none is given: an unprivileged one, so a first try as an
/// ordinary user works; production servers listen on 443 (docs/operations.md).
pub const DEFAULT_HTTPS_PORT: u16 = 8443;

#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Room id (letters, digits, `-`, `_`).
    #[arg(long)]
    pub room: String,
    /// The name others see, e.g. "Xã Thanh Sơn".
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "member", value_parser = parse_role)]
    pub role: Role,
    /// Unit code the holder speaks for (optional).
    #[arg(long)]
    pub unit: Option<String>,
    /// How long the link is valid: 90s, 30m, 2h, 1d.
    #[arg(long, default_value = "2h", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// The longest --ttl allowed: a hand-made link is for one session. The server
    /// refuses links longer than its own --max-token-lifetime (default 7d) anyway.
    #[arg(long, value_name = "DURATION", env = "BRIDGE_TOKEN_MAX_TTL",
          default_value = "24h", value_parser = parse_ttl)]
    pub max_ttl: Duration,
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub base_url: String,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
        .map_err(|e: bridge_token::RoleParseError| e.to_string())
}

fn parse_ttl(s: &str) -> Result<Duration, String> {
    crate::ttl::parse(s).map_err(|e| e.to_string())
}

/// Room ids appear in URLs and logs: keep them plain (the one rule of `bridge_token`).
pub fn check_room(room: &str) -> anyhow::Result<()> {
    if !bridge_token::is_valid_room(room) {
        bail!("invalid room {room:?}: use 1-64 letters, digits, '-' or '_'");
    }
    Ok(())
}

pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `http://HOST/r/ROOM?t=TOKEN`
pub fn join_url(base_url: &str, room: &str, token: &str) -> String {
    format!("{}/r/{room}?t={token}", base_url.trim_end_matches('/'))
}

/// The demo room and its two links, valid this long.
const DEMO_ROOM: &str = "demo";
const DEMO_TTL: Duration = Duration::from_secs(12 * 3600);

/// The demo room's heading and its chair and hall links, one line each.
pub fn demo_links(key: &TokenKey, base_url: &str) -> anyhow::Result<Vec<String>> {
    let mut lines = vec![format!(
        "Phòng họp thử / Demo room \"{DEMO_ROOM}\" (links valid 12 h):"
    )];
    for (name, role) in [
        ("Tỉnh Phú Thọ", Role::Chair),
        ("Xã Thanh Sơn", Role::Member),
    ] {
        let grant = Grant {
            room: DEMO_ROOM.into(),
            name: name.into(),
            role,
            unit: None,
        };
        let token = key.mint(grant, now_unix(), DEMO_TTL)?;
        lines.push(format!(
            "  {name} ({role}): {}",
            join_url(base_url, DEMO_ROOM, &token)
        ));
    }
    Ok(lines)
}

pub fn print_demo_links(args: DemoLinksArgs) -> anyhow::Result<()> {
    let key = TokenKey::load_or_create(&args.data.dir).context("loading the token secret")?;
    for line in demo_links(&key, &args.base_url)? {
        println!("{line}");
    }
    Ok(())
}

pub fn token(args: TokenArgs) -> anyhow::Result<()> {
    check_room(&args.room)?;
    if args.name.trim().is_empty() {
        bail!("--name must not be empty");
    }
    if args.ttl > args.max_ttl {
        bail!(
            "--ttl {}s is longer than the maximum {}s (--max-ttl, env BRIDGE_TOKEN_MAX_TTL)",
            args.ttl.as_secs(),
            args.max_ttl.as_secs()
        );
    }
    let key = TokenKey::load_or_create(&args.data.dir)
        .context("loading the token secret")?
        .with_max_lifetime(args.max_ttl);
    let grant = Grant {
        room: args.room.clone(),
        name: args.name,
        role: args.role,
        unit: args.unit,
    };
    let token = key.mint(grant, now_unix(), args.ttl)?;
    println!("{}", join_url(&args.base_url, &args.room, &token));
    Ok(())
}
