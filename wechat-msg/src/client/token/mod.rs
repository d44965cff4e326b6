//! Access tokens: where they come from ([`source`]), why none could be had
//! ([`error`]), fetching one ([`fetch`]), and the cache that keeps it and
//! lets one refresh serve every caller waiting for it ([`cache`]).
//!
//! Imports run `source`, `error` -> `fetch` -> `cache`; this module only
//! declares and re-exports them.

mod cache;
mod error;
mod fetch;
mod source;

pub(crate) use cache::{Lease, TokenCache};
pub use error::{TokenErrcode, TokenError, TokenErrorKind};
pub use source::{BoxError, BoxFuture, FreshToken, TokenProvider, TokenSource};
