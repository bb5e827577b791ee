//! The scheduler inside the binary: opening the database, the first-run demo seed, and
//! the `bridge units import` / `bridge users add` commands.

use crate::cli::{DataArg, UnitsImportArgs, UsersAddArgs, UsersStateArgs};
use anyhow::{Context, bail};
use bridge_scheduler::accounts::NewUser;
use bridge_scheduler::{Db, Role, SchedError, UnitCode};
use rand::Rng;
use std::io::Write;
use time::OffsetDateTime;

/// The demo province, embedded so a fresh install needs no data files.
const DEMO_UNITS: &str = include_str!("../../scheduler/units/units-phu-tho.csv");

/// Demo accounts created on first run besides `admin`: (username, display name, role, unit).
const DEMO_ACCOUNTS: &[(&str, &str, Role, &str)] = &[
    (
        "vp.tinh",
        "Văn phòng UBND tỉnh Phú Thọ",
        Role::Secretary,
        "25",
    ),
    ("ct.tinh", "Chủ tịch UBND tỉnh", Role::Chair, "25"),
    ("site.07888", "Hội trường xã 07888", Role::Site, "07888"),
    ("site.07894", "Hội trường xã 07894", Role::Site, "07894"),
];

/// SQLite `DIR/bridge.db`, or PostgreSQL when `DATABASE_URL` is set; migrations applied.
pub async fn open(data: &DataArg) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&data.dir)
        .with_context(|| format!("creating the data directory {}", data.dir.display()))?;
    let db = Db::open_default(&data.dir)
        .await
        .context("opening the scheduler database")?;
    keep_private(&data.dir);
    Ok(db)
}

/// The data directory holds the token secret, the database (password hashes, sessions)
/// and the TLS key: the server's account alone may read it. Applied at every open, so a
/// directory made by an older version, or by hand, is closed too.
fn keep_private(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let set = |path: &std::path::Path, mode: u32| {
        if path.exists()
            && let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot restrict permissions");
        }
    };
    set(dir, 0o700);
    for file in ["bridge.db", "bridge.db-wal", "bridge.db-shm"] {
        set(&dir.join(file), 0o600);
    }
}

/// First run only: the demo unit tree, the administrator and the demo accounts.
/// Returns lines to print (passwords are shown once and never stored in clear).
pub async fn seed_first_run(db: &Db) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    if db.unit_count().await? == 0 {
        let r = db
            .import_units(DEMO_UNITS.as_bytes())
            .await
            .context("seeding the demo units")?;
        lines.push(format!(
            "Đã nạp {} đơn vị (Phú Thọ) / seeded {} units",
            r.units, r.units
        ));
    }
    let now = OffsetDateTime::now_utc();
    let Some((admin, password)) = db.ensure_first_admin(now).await? else {
        return Ok(lines);
    };
    lines.push("Tài khoản / Accounts (mật khẩu chỉ hiện một lần / passwords shown once):".into());
    lines.push(format!("  {admin} (administrator): {password}"));
    for (username, display, role, unit) in DEMO_ACCOUNTS {
        let password = generate_password();
        let new = NewUser {
            username: (*username).into(),
            display_name: (*display).into(),
            password: password.clone(),
            role: *role,
            unit: Some(UnitCode::parse(unit)?),
        };
        match db.create_user(new, now).await {
            Ok(_) => lines.push(format!(
                "  {username} ({}, {unit}): {password}",
                role.as_str()
            )),
            Err(SchedError::UsernameTaken(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(lines)
}

pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn units_import(args: UnitsImportArgs) -> anyhow::Result<()> {
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("opening {}", args.file.display()))?;
    runtime()?.block_on(async {
        let db = open(&args.data).await?;
        match db.import_units(std::io::BufReader::new(file)).await {
            Ok(r) => {
                let total = db.unit_count().await?;
                println!("imported {} units ({total} in the database)", r.units);
                Ok(())
            }
            Err(SchedError::Import(problems)) => {
                let mut err = std::io::stderr().lock();
                // A wrong file can have thousands of problems: the first ones locate it.
                for p in problems.iter().take(20) {
                    writeln!(err, "{}: {p}", args.file.display())?;
                }
                bail!(
                    "import refused: {} problem(s) in {}, nothing was written",
                    problems.len(),
                    args.file.display()
                )
            }
            Err(e) => Err(e.into()),
        }
    })
}

pub fn users_add(args: UsersAddArgs) -> anyhow::Result<()> {
    let Some(role) = Role::parse(match args.role.as_str() {
        "admin" => "administrator",
        other => other,
    }) else {
        bail!(
            "unknown role {:?}: use admin, secretary, chair or site",
            args.role
        );
    };
    if role != Role::Administrator && args.unit.is_none() {
        bail!("--unit CODE is required for role {}", role.as_str());
    }
    let unit = args.unit.as_deref().map(UnitCode::parse).transpose()?;
    if let Some(email) = &args.email {
        bridge_scheduler::mail::mailbox(email)?;
    }
    let (password, generated) = match args.password {
        Some(p) => (p, false),
        None => (generate_password(), true),
    };
    runtime()?.block_on(async {
        let db = open(&args.data).await?;
        let user = db
            .create_user(
                NewUser {
                    username: args.username.clone(),
                    display_name: args.display_name.unwrap_or(args.username),
                    password: password.clone(),
                    role,
                    unit,
                },
                OffsetDateTime::now_utc(),
            )
            .await?;
        // Validated before anything is written, so a bad address leaves no account.
        if let Some(email) = &args.email {
            db.set_user_email(&user.username, Some(email)).await?;
        }
        println!("created user {} ({})", user.username, role.as_str());
        if generated {
            println!("password: {password}");
        }
        anyhow::Ok(())
    })
}

/// `bridge users disable|enable --username U`: the operator, who holds the data
/// directory, needs no administrator account (the API's route does).
pub fn users_state(args: UsersStateArgs, disabled: bool) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let db = open(&args.data).await?;
        let state = db
            .set_disabled(&args.username, disabled, OffsetDateTime::now_utc())
            .await?;
        if state.disabled {
            println!(
                "disabled {}: its sessions ended and its API tokens were revoked",
                state.username
            );
        } else {
            println!("enabled {}", state.username);
        }
        anyhow::Ok(())
    })
}
