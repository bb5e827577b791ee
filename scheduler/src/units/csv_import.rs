//! Pure parsing and validation of unit CSV files (`code,parent_code,level,kind,name[,lat,lon]`).
//! Every problem is collected (up to a cap) so an operator fixes the file in one pass.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use crate::ids::UnitCode;

/// At most this many problems are reported; past it the file is clearly not a unit list.
const MAX_PROBLEMS: usize = 50;

/// One data row as read; `line` is the 1-based line number in the file (header = 1).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRow {
    pub line: usize,
    pub code: UnitCode,
    pub parent: Option<UnitCode>,
    pub level: i64,
    pub kind: String,
    pub name: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// A validated row with its materialized path ("/25/227/07888/").
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedUnit {
    pub row: UnitRow,
    pub path: String,
}

/// What an existing unit in the database contributes to validation of a new file.
#[derive(Debug, Clone)]
pub struct ExistingUnit {
    pub level: i64,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportProblem {
    #[error("line {line}: {message}")]
    Malformed { line: usize, message: String },
    #[error("line {line}: missing column {column:?} in header")]
    MissingColumn { line: usize, column: &'static str },
    #[error("line {line}: duplicate code {code} (first on line {first_line})")]
    DuplicateCode {
        line: usize,
        code: String,
        first_line: usize,
    },
    #[error("line {line}: code {code} already exists in the database")]
    AlreadyExists { line: usize, code: String },
    #[error("line {line}: unit {code} has unknown parent {parent}")]
    UnknownParent {
        line: usize,
        code: String,
        parent: String,
    },
    #[error("line {line}: unit {code} has level {level}, expected {expected}")]
    BadLevel {
        line: usize,
        code: String,
        level: i64,
        expected: i64,
    },
    #[error("line {line}: unit {code} is part of a parent cycle: {}", .cycle.join(" -> "))]
    Cycle {
        line: usize,
        code: String,
        cycle: Vec<String>,
    },
}

fn push(problems: &mut Vec<ImportProblem>, p: ImportProblem) {
    if problems.len() < MAX_PROBLEMS {
        problems.push(p);
    }
}

/// Reads rows; rejects malformed lines. A UTF-8 BOM before the header is tolerated.
pub fn parse_units_csv(input: impl Read) -> Result<Vec<UnitRow>, Vec<ImportProblem>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = rdr.headers().map_err(|e| {
        vec![ImportProblem::Malformed {
            line: 1,
            message: e.to_string(),
        }]
    })?;
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let mut problems = Vec::new();
    let mut col = |name: &'static str| {
        let c = find(name);
        if c.is_none() {
            push(
                &mut problems,
                ImportProblem::MissingColumn {
                    line: 1,
                    column: name,
                },
            );
        }
        c
    };
    let (Some(c_code), Some(c_parent), Some(c_level), Some(c_kind), Some(c_name)) = (
        col("code"),
        col("parent_code"),
        col("level"),
        col("kind"),
        col("name"),
    ) else {
        return Err(problems);
    };
    let (c_lat, c_lon) = (find("lat"), find("lon"));

    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                push(
                    &mut problems,
                    ImportProblem::Malformed {
                        line,
                        message: e.to_string(),
                    },
                );
                continue;
            }
        };
        let field = |c: usize| rec.get(c).unwrap_or("").trim();
        let bad = |message: String| ImportProblem::Malformed { line, message };
        let code = match UnitCode::parse(field(c_code)) {
            Ok(c) => c,
            Err(e) => {
                push(&mut problems, bad(e.to_string()));
                continue;
            }
        };
        let parent = match field(c_parent) {
            "" => None,
            p => match UnitCode::parse(p) {
                Ok(c) => Some(c),
                Err(e) => {
                    push(&mut problems, bad(format!("parent_code: {e}")));
                    continue;
                }
            },
        };
        let level = match field(c_level).parse::<i64>() {
            Ok(l) if (1..=20).contains(&l) => l,
            _ => {
                push(
                    &mut problems,
                    bad(format!(
                        "level {:?} is not a number in 1..=20",
                        field(c_level)
                    )),
                );
                continue;
            }
        };
        let name = field(c_name).to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            push(&mut problems, bad("name must be 1..=200 characters".into()));
            continue;
        }
        let kind = field(c_kind).to_owned();
        if kind.chars().count() > 50 {
            push(&mut problems, bad("kind longer than 50 characters".into()));
            continue;
        }
        let coord = |c: Option<usize>, what: &str| -> Result<Option<f64>, ImportProblem> {
            match c.map(field) {
                None | Some("") => Ok(None),
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && x.abs() <= 180.0)
                    .map(Some)
                    .ok_or_else(|| bad(format!("{what} {v:?} is not a coordinate"))),
            }
        };
        let (lat, lon) = match (coord(c_lat, "lat"), coord(c_lon, "lon")) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(p), _) | (_, Err(p)) => {
                push(&mut problems, p);
                continue;
            }
        };
        rows.push(UnitRow {
            line,
            code,
            parent,
            level,
            kind,
            name,
            lat,
            lon,
        });
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Checks duplicates, parents, cycles and levels against the file plus the units already
/// stored, and returns the rows ordered parents-first with their paths.
pub fn plan_import(
    rows: Vec<UnitRow>,
    existing: &HashMap<String, ExistingUnit>,
) -> Result<Vec<PlannedUnit>, Vec<ImportProblem>> {
    let mut problems = Vec::new();
    let mut by_code: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        if let Some(&first) = by_code.get(r.code.as_str()) {
            push(
                &mut problems,
                ImportProblem::DuplicateCode {
                    line: r.line,
                    code: r.code.to_string(),
                    first_line: rows[first].line,
                },
            );
        } else {
            by_code.insert(r.code.as_str(), i);
        }
        if existing.contains_key(r.code.as_str()) {
            push(
                &mut problems,
                ImportProblem::AlreadyExists {
                    line: r.line,
                    code: r.code.to_string(),
                },
            );
        }
    }
    for r in &rows {
        if let Some(p) = &r.parent
            && !by_code.contains_key(p.as_str())
            && !existing.contains_key(p.as_str())
        {
            push(
                &mut problems,
                ImportProblem::UnknownParent {
                    line: r.line,
                    code: r.code.to_string(),
                    parent: p.to_string(),
                },
            );
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    // Resolve paths iteratively (no recursion: depth is data, not code). A row whose
    // parent chain comes back to itself is a cycle.
    let mut path: Vec<Option<(String, i64)>> = vec![None; rows.len()];
    for start in 0..rows.len() {
        let mut chain: Vec<usize> = Vec::new();
        let mut on_chain: HashSet<usize> = HashSet::new();
        let mut cur = start;
        let base: Option<(String, i64)> = loop {
            if let Some(p) = &path[cur] {
                break Some(p.clone());
            }
            if !on_chain.insert(cur) {
                let pos = chain.iter().position(|&c| c == cur).unwrap_or(0);
                let cycle: Vec<String> = chain[pos..]
                    .iter()
                    .chain(std::iter::once(&cur))
                    .map(|&c| rows[c].code.to_string())
                    .collect();
                push(
                    &mut problems,
                    ImportProblem::Cycle {
                        line: rows[cur].line,
                        code: rows[cur].code.to_string(),
                        cycle,
                    },
                );
                break None;
            }
            chain.push(cur);
            match &rows[cur].parent {
                None => break Some((String::from("/"), 0)),
                Some(p) => match by_code.get(p.as_str()) {
                    Some(&pi) => cur = pi,
                    None => {
                        let e = existing.get(p.as_str());
                        break e.map(|e| (e.path.clone(), e.level));
                    }
                },
            }
        };
        let Some((mut prefix, mut parent_level)) = base else {
            // Mark the chain as resolved-bad so the same cycle is reported once.
            for c in chain {
                path[c] = Some((String::new(), -1000));
            }
            continue;
        };
        // Walk back down the chain (root-most last pushed) assigning paths.
        for &c in chain.iter().rev() {
            let r = &rows[c];
            let expected = parent_level + 1;
            if r.level != expected && parent_level >= 0 {
                push(
                    &mut problems,
                    ImportProblem::BadLevel {
                        line: r.line,
                        code: r.code.to_string(),
                        level: r.level,
                        expected,
                    },
                );
            }
            prefix = format!("{prefix}{}/", r.code);
            parent_level = r.level;
            path[c] = Some((prefix.clone(), r.level));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut planned: Vec<PlannedUnit> = rows
        .into_iter()
        .zip(path)
        .map(|(row, p)| PlannedUnit {
            row,
            path: p.map(|p| p.0).unwrap_or_default(),
        })
        .collect();
    // Parents first so foreign keys hold at every insert batch.
    planned.sort_by_key(|p| (p.path.matches('/').count(), p.row.line));
    Ok(planned)
}
