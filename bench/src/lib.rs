#![forbid(unsafe_code)]
//! The bridge's benchmarks: a load generator of real WebRTC participants against the real
//! binary ([`fanout`]), the floor of unavoidable work per forwarded packet ([`floor`]),
//! and the report they write ([`report`]). Run from the command line (`bridge-bench`, see
//! docs/performance.md); a smoke run is part of the test suite.

pub mod fanout;
pub mod floor;
pub mod procstat;
pub mod report;
