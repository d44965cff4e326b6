//! Support for the cross-crate tests in `tests/`: wx-server-sdk's key rule,
//! written independently of the generator, and the synthetic spec used by
//! the scale test and `scripts/scale-build.sh`.
#![deny(missing_docs)]

pub mod sdk;
pub mod synthetic;

/// The README's Rust examples, compiled (and, unless `no_run`, run) as
/// doctests of this cross-crate package, which depends on every crate they use.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
