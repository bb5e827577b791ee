//! Figures for the closing note (not a test):
//!   cargo run --release -p bridge-scheduler --example sched_bench -- [sqlite|postgres] [N]
//! 1. import of units-vn.csv; 2. one meeting inviting all 10,810 units (create_meeting);
//! 3. upcoming-meetings query for one unit with N (default 100,000) meetings stored, p50/p99.
//!
//! PostgreSQL: BRIDGE_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test); a
//! scratch database is created and dropped.

use std::time::Instant;

use bridge_scheduler::accounts::NewUser;
use bridge_scheduler::units::UnitSelector;
use bridge_scheduler::{Db, MeetingDraft, Role, UnitCode};
use rand::Rng;
use sqlx::Connection;
use time::{Duration, OffsetDateTime};

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let backend = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("sqlite")
        .to_owned();
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let data = std::env::var("BRIDGE_DATA")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/units").into());
    let dir = tempfile::tempdir()?;
    let mut pg_admin = None;
    let db = if backend == "postgres" {
        let url = std::env::var("BRIDGE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let mut admin = sqlx::PgConnection::connect(&url).await?;
        let name = format!("sched_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let base = url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&url)
            .to_owned();
        pg_admin = Some((admin, name.clone()));
        Db::connect(&format!("{base}/{name}")).await?
    } else {
        Db::open_sqlite_file(&dir.path().join("bridge.db")).await?
    };

    let t = Instant::now();
    let r = db
        .import_units(std::fs::File::open(format!("{data}/units-vn.csv"))?)
        .await?;
    println!(
        "[{backend}] import units-vn.csv: {} units in {:.2?}",
        r.units,
        t.elapsed()
    );

    let now = OffsetDateTime::now_utc();
    let admin = db
        .create_user(
            NewUser {
                username: "admin".into(),
                display_name: "admin".into(),
                password: "bench-password".into(),
                role: Role::Administrator,
                unit: None,
            },
            now,
        )
        .await?;
    let admin = db.principal(admin.id).await?;
    let roots = db.unit_children(None).await?;
    let all: Vec<UnitSelector> = roots
        .iter()
        .map(|u| UnitSelector::Subtree {
            code: u.code.clone(),
        })
        .collect();
    let hn = UnitCode::parse("01")?;
    let d = MeetingDraft::urgent("Hội nghị toàn quốc", hn.clone(), all, now, 10, 120)?;
    let t = Instant::now();
    let out = db.create_meeting(&admin, d, now).await?;
    println!(
        "[{backend}] create one meeting inviting {} units: {:.2?}",
        out.invited,
        t.elapsed()
    );

    // Bulk fixture: N meetings over the next year, organizer + 3 random units each.
    let codes: Vec<String> = sqlx::query_scalar::<_, String>("SELECT code FROM units")
        .fetch_all(db.pool())
        .await?;
    let target = "00001".to_string();
    let mut rng = rand::rng();
    let t = Instant::now();
    let mut tx = db.pool().begin().await?;
    let base = now.unix_timestamp();
    for chunk_start in (0..n).step_by(500) {
        let chunk = (chunk_start..(chunk_start + 500).min(n)).collect::<Vec<_>>();
        let mut m_sql = String::from(
            "INSERT INTO meetings (id, title, organizer_code, chair_user_id, location, starts_at, ends_at, urgent, cancelled, version, rrule, exdates, selection, created_by, created_at, updated_at) VALUES ",
        );
        let mut o_sql =
            String::from("INSERT INTO occurrences (meeting_id, starts_at, ends_at) VALUES ");
        let mut i_sql = String::from("INSERT INTO invitations (meeting_id, unit_code) VALUES ");
        for (k, _) in chunk.iter().enumerate() {
            let id = uuid::Uuid::new_v4();
            let s = base + rng.random_range(-30 * 86_400..365 * 86_400);
            let e = s + 3600;
            let org = &codes[rng.random_range(0..codes.len())];
            let sep = if k == 0 { "" } else { "," };
            m_sql.push_str(&format!("{sep}('{id}','bench {k}','{org}',NULL,'',{s},{e},0,0,0,NULL,'','[]','{}',{base},{base})", admin.user_id));
            o_sql.push_str(&format!("{sep}('{id}',{s},{e})"));
            let mut inv = vec![org.clone()];
            // The measured unit is in ~2% of meetings, like a busy commune.
            if rng.random_range(0..50) == 0 {
                inv.push(target.clone());
            }
            for _ in 0..3 {
                inv.push(codes[rng.random_range(0..codes.len())].clone());
            }
            inv.sort();
            inv.dedup();
            for (j, u) in inv.iter().enumerate() {
                let sep = if k == 0 && j == 0 { "" } else { "," };
                i_sql.push_str(&format!("{sep}('{id}','{u}')"));
            }
        }
        sqlx::query(&m_sql).execute(&mut *tx).await?;
        sqlx::query(&o_sql).execute(&mut *tx).await?;
        sqlx::query(&i_sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    println!(
        "[{backend}] bulk fixture of {n} meetings: {:.2?}",
        t.elapsed()
    );

    if std::env::var("BENCH_ANALYZE").is_ok() {
        sqlx::query("ANALYZE").execute(db.pool()).await?;
        println!("[{backend}] ANALYZE done");
    }
    // A second national meeting, now that 100k meetings exist: conflict detection included.
    let d = MeetingDraft::urgent(
        "Hội nghị toàn quốc 2",
        hn.clone(),
        roots
            .iter()
            .map(|u| UnitSelector::Subtree {
                code: u.code.clone(),
            })
            .collect(),
        now,
        20,
        60,
    )?;
    // Three days later, so it does not clash with the first national meeting: the
    // conflicts found are those with the random fixture.
    let d = MeetingDraft {
        starts_at: d.starts_at + Duration::days(3),
        ends_at: d.ends_at + Duration::days(3),
        ..d
    };
    let t = Instant::now();
    let out = db.create_meeting(&admin, d, now).await?;
    println!(
        "[{backend}] create a national meeting with {n} meetings stored: {:.2?} ({} conflict warnings, at most 200 reported)",
        t.elapsed(),
        out.conflicts.len()
    );
    let t = Instant::now();
    let again = db.booking_conflicts(out.meeting.id).await?;
    println!(
        "[{backend}]   of which the conflict query alone: {:.2?} ({} rows)",
        t.elapsed(),
        again.len()
    );

    // The busy unit (in ~2% of meetings) and a typical one (a few invitations).
    let typical = codes[codes.len() / 2].clone();
    for target in [target.clone(), typical] {
        let unit = UnitCode::parse(&target)?;
        let mut lat = Vec::new();
        for i in 0..300 {
            let at = now + Duration::hours(i % 48);
            let t = Instant::now();
            let up = db.upcoming_unchecked(&unit, at, 20).await?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(up);
        }
        let invited: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM invitations WHERE unit_code = $1")
                .bind(target.clone())
                .fetch_one(db.pool())
                .await?;
        println!(
            "[{backend}] upcoming(20) for unit {target} ({invited} invitations, {n} meetings): p50 {:.2} ms, p99 {:.2} ms",
            pct(&mut lat, 0.5),
            pct(&mut lat, 0.99)
        );
    }
    db.close().await;
    if let Some((mut admin, name)) = pg_admin {
        if std::env::var("BENCH_KEEP").is_ok() {
            println!("kept database {name}");
            return Ok(());
        }
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
    }
    Ok(())
}
