//! Tiny helpers to build multi-row statements with `$n` placeholders (portable to both
//! databases, unlike `QueryBuilder<Any>` which emits `?`).

/// "$start, $start+1, …" for `n` parameters.
pub(crate) fn placeholders(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds `INSERT … VALUES ($1,$2),($3,$4)…`.
pub(crate) struct Batch {
    sql: String,
    width: usize,
    next: usize,
    rows: usize,
}

impl Batch {
    pub(crate) fn new(prefix: &str, width: usize) -> Self {
        Batch {
            sql: prefix.to_owned(),
            width,
            next: 1,
            rows: 0,
        }
    }

    pub(crate) fn row(&mut self) {
        if self.rows > 0 {
            self.sql.push_str(", ");
        }
        self.sql.push('(');
        self.sql.push_str(&placeholders(self.next, self.width));
        self.sql.push(')');
        self.next += self.width;
        self.rows += 1;
    }

    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }
}
