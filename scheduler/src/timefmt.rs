//! Time helpers: RFC 3339 serde for lists and conversions to/from stored unix seconds.

use time::OffsetDateTime;

use crate::error::{Result, SchedError};

pub(crate) fn from_unix(s: i64) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(s)
        .map_err(|e| SchedError::invalid("stored time", e.to_string()))
}

/// `#[serde(with = "crate::timefmt::rfc3339_vec")]` for `Vec<OffsetDateTime>`.
pub mod rfc3339_vec {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub fn serialize<S: Serializer>(v: &[OffsetDateTime], s: S) -> Result<S::Ok, S::Error> {
        let strings: Result<Vec<String>, _> = v.iter().map(|t| t.format(&Rfc3339)).collect();
        s.collect_seq(strings.map_err(S::Error::custom)?)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OffsetDateTime>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| OffsetDateTime::parse(s, &Rfc3339).map_err(D::Error::custom))
            .collect()
    }
}
