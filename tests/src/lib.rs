//! Support for the cross-crate tests in `tests/`: wx-server-sdk's key rule,
//! written independently of the generator, the synthetic spec used by the
//! scale test and `scripts/scale-build.sh`, and the headless browser of the
//! web UI's tests.
#![deny(missing_docs)]

pub mod browser;
pub mod sdk;
pub mod synthetic;

/// The README's Rust examples, compiled (and, unless `no_run`, run) as
/// doctests of this cross-crate package, which depends on every crate they use.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
