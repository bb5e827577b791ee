#![forbid(unsafe_code)]
//! The bridge's benchmarks: a load generator of real WebRTC participants against the real
//! binary ([`fanout`], and the Phú Thọ conference: [`conference`]), measured alike
//! ([`measure`]), the floor of unavoidable work per forwarded packet ([`floor`]),
//! the same scenarios against Janus ([`janus`]), and the report they write ([`report`]).
//! Run from the command line (`bridge-bench`, see docs/performance.md); a smoke run is
//! part of the test suite.

pub mod conference;
pub mod fanout;
pub mod floor;
pub mod janus;
pub mod measure;
pub mod procstat;
pub mod report;
