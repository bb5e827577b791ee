//! Administrative units: import from CSV, lookups and subtree queries.

mod csv_import;

use std::collections::HashMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

pub use csv_import::{
    ExistingUnit, ImportProblem, PlannedUnit, UnitRow, parse_units_csv, plan_import,
};

use crate::db::Db;
use crate::error::{Result, SchedError};
use crate::ids::{RoomId, UnitCode};
use crate::sql::{Batch, placeholders};

/// A stored unit with its permanent room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unit {
    pub code: UnitCode,
    pub parent: Option<UnitCode>,
    pub level: i64,
    pub kind: String,
    pub name: String,
    /// Materialized path, e.g. "/25/227/07888/".
    pub path: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub room: RoomId,
}

impl Unit {
    /// True when `other` is this unit or one of its descendants.
    pub fn contains(&self, other: &Unit) -> bool {
        path_contains(&self.path, &other.path)
    }
}

/// Subtree test on materialized paths: "/25/" contains "/25/227/" and itself.
pub fn path_contains(ancestor_path: &str, path: &str) -> bool {
    !ancestor_path.is_empty() && path.starts_with(ancestor_path)
}

/// How a secretary picks participating units; a meeting stores a list of these and the
/// expansion (one invitation per unit) at the time of saving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UnitSelector {
    /// Exactly this unit.
    Unit { code: UnitCode },
    /// The direct children of `code` ("all districts of the province").
    ChildrenOf { code: UnitCode },
    /// All descendants of `code` at absolute `level` ("all communes of Thanh Sơn").
    DescendantsAtLevel { code: UnitCode, level: i64 },
    /// `code` and everything under it.
    Subtree { code: UnitCode },
}

impl UnitSelector {
    pub fn root(&self) -> &UnitCode {
        match self {
            UnitSelector::Unit { code }
            | UnitSelector::ChildrenOf { code }
            | UnitSelector::DescendantsAtLevel { code, .. }
            | UnitSelector::Subtree { code } => code,
        }
    }
}

/// Outcome of an import: how many units were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub units: usize,
}

const UNIT_COLS: &str = "code, parent_code, level, kind, name, path, lat, lon, room";

pub(crate) fn unit_from_row(r: &AnyRow) -> Result<Unit> {
    let code = UnitCode::from_db(r.try_get("code")?);
    Ok(Unit {
        room: code.room(),
        code,
        parent: r
            .try_get::<Option<String>, _>("parent_code")?
            .map(UnitCode::from_db),
        level: r.try_get("level")?,
        kind: r.try_get("kind")?,
        name: r.try_get("name")?,
        path: r.try_get("path")?,
        lat: r.try_get("lat")?,
        lon: r.try_get("lon")?,
    })
}

impl Db {
    /// Imports a CSV unit list in one transaction: all rows or none.
    pub async fn import_units(&self, input: impl Read) -> Result<ImportReport> {
        let rows = parse_units_csv(input).map_err(SchedError::Import)?;
        let mut existing = HashMap::new();
        for r in sqlx::query("SELECT code, level, path FROM units")
            .fetch_all(&self.pool)
            .await?
        {
            existing.insert(
                r.try_get::<String, _>("code")?,
                ExistingUnit {
                    level: r.try_get("level")?,
                    path: r.try_get("path")?,
                },
            );
        }
        let planned = plan_import(rows, &existing).map_err(SchedError::Import)?;
        let mut tx = self.pool.begin().await?;
        for chunk in planned.chunks(400) {
            let mut b = Batch::new(
                &format!("INSERT INTO units ({UNIT_COLS}, search_key) VALUES "),
                10,
            );
            for _ in chunk {
                b.row();
            }
            let mut q = sqlx::query(b.sql());
            for p in chunk {
                let r = &p.row;
                q = q
                    .bind(r.code.as_str().to_owned())
                    .bind(r.parent.as_ref().map(|c| c.as_str().to_owned()))
                    .bind(r.level)
                    .bind(r.kind.clone())
                    .bind(r.name.clone())
                    .bind(p.path.clone())
                    .bind(r.lat)
                    .bind(r.lon)
                    .bind(r.code.room().0)
                    .bind(search_key(&r.name));
            }
            q.execute(&mut *tx).await?;
        }
        // Closure rows: each unit paired with every code on its path.
        let pairs: Vec<(String, String, i64)> = planned
            .iter()
            .flat_map(|p| {
                let segs: Vec<&str> = p.path.split('/').filter(|s| !s.is_empty()).collect();
                let n = segs.len();
                segs.into_iter()
                    .enumerate()
                    .map(move |(i, a)| (a.to_owned(), p.row.code.to_string(), (n - 1 - i) as i64))
                    .collect::<Vec<_>>()
            })
            .collect();
        for chunk in pairs.chunks(1000) {
            let mut b = Batch::new(
                "INSERT INTO unit_ancestors (ancestor_code, unit_code, depth) VALUES ",
                3,
            );
            for _ in chunk {
                b.row();
            }
            let mut q = sqlx::query(b.sql());
            for (a, u, d) in chunk {
                q = q.bind(a.clone()).bind(u.clone()).bind(*d);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        // Fresh statistics: PostgreSQL otherwise plans subtree joins for empty tables.
        sqlx::query("ANALYZE units").execute(&self.pool).await?;
        sqlx::query("ANALYZE unit_ancestors")
            .execute(&self.pool)
            .await?;
        Ok(ImportReport {
            units: planned.len(),
        })
    }

    pub async fn unit_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM units")
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?)
    }

    pub async fn unit(&self, code: &UnitCode) -> Result<Unit> {
        let sql = format!("SELECT {UNIT_COLS} FROM units WHERE code = $1");
        let row = sqlx::query(&sql)
            .bind(code.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| SchedError::UnknownUnits(vec![code.to_string()]))?;
        unit_from_row(&row)
    }

    /// Units by code; unknown codes are an error naming all of them.
    pub async fn units_by_codes(&self, codes: &[UnitCode]) -> Result<Vec<Unit>> {
        let mut out = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(500) {
            let sql = format!(
                "SELECT {UNIT_COLS} FROM units WHERE code IN ({})",
                placeholders(1, chunk.len())
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q.bind(c.as_str().to_owned());
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(unit_from_row(&r)?);
            }
        }
        let found: std::collections::HashSet<&str> = out.iter().map(|u| u.code.as_str()).collect();
        let mut missing: Vec<String> = codes
            .iter()
            .filter(|c| !found.contains(c.as_str()))
            .map(ToString::to_string)
            .collect();
        if !missing.is_empty() {
            missing.sort();
            missing.dedup();
            return Err(SchedError::UnknownUnits(missing));
        }
        Ok(out)
    }

    /// Direct children, ordered by code. `None` lists the roots.
    pub async fn unit_children(&self, parent: Option<&UnitCode>) -> Result<Vec<Unit>> {
        let rows = match parent {
            Some(p) => {
                self.unit(p).await?;
                let sql =
                    format!("SELECT {UNIT_COLS} FROM units WHERE parent_code = $1 ORDER BY code");
                sqlx::query(&sql)
                    .bind(p.as_str().to_owned())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = format!(
                    "SELECT {UNIT_COLS} FROM units WHERE parent_code IS NULL ORDER BY code"
                );
                sqlx::query(&sql).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(unit_from_row).collect()
    }

    /// Descendants of `root` (including itself at depth 0), optionally only at one level.
    pub async fn unit_subtree(&self, root: &UnitCode, level: Option<i64>) -> Result<Vec<Unit>> {
        self.unit(root).await?;
        let cols = UNIT_COLS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = format!(
            "SELECT {cols} FROM unit_ancestors a JOIN units u ON u.code = a.unit_code \
             WHERE a.ancestor_code = $1"
        );
        if level.is_some() {
            sql.push_str(" AND u.level = $2");
        }
        sql.push_str(" ORDER BY u.path");
        let mut q = sqlx::query(&sql).bind(root.as_str().to_owned());
        if let Some(l) = level {
            q = q.bind(l);
        }
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(unit_from_row)
            .collect()
    }

    /// Case- and accent-insensitive name search (unit picker), at most `limit` results.
    pub async fn search_units(&self, needle: &str, limit: i64) -> Result<Vec<Unit>> {
        let pattern = format!("%{}%", escape_like(&search_key(needle)));
        let sql = format!(
            "SELECT {UNIT_COLS} FROM units WHERE search_key LIKE $1 ESCAPE '\\' \
             ORDER BY path LIMIT $2"
        );
        sqlx::query(&sql)
            .bind(pattern)
            .bind(limit.clamp(1, 1000))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(unit_from_row)
            .collect()
    }

    /// Expands selectors into distinct units (sorted by path). Unknown roots are an error.
    pub async fn expand_selection(&self, selection: &[UnitSelector]) -> Result<Vec<Unit>> {
        let roots: Vec<UnitCode> = selection.iter().map(|s| s.root().clone()).collect();
        self.units_by_codes(&roots).await?;
        let mut out: HashMap<String, Unit> = HashMap::new();
        for s in selection {
            let units = match s {
                UnitSelector::Unit { code } => vec![self.unit(code).await?],
                UnitSelector::ChildrenOf { code } => self.unit_children(Some(code)).await?,
                UnitSelector::DescendantsAtLevel { code, level } => {
                    self.unit_subtree(code, Some(*level)).await?
                }
                UnitSelector::Subtree { code } => self.unit_subtree(code, None).await?,
            };
            for u in units {
                out.entry(u.code.to_string()).or_insert(u);
            }
        }
        let mut v: Vec<Unit> = out.into_values().collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(v)
    }
}

/// Lower case without diacritics ("Huyện Đoan Hùng" -> "huyen doan hung"), computed in Rust
/// because SQLite's LOWER() knows ASCII only.
pub fn search_key(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escapes LIKE wildcards so user text matches literally.
fn escape_like(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}
