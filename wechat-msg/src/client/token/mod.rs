//! Access tokens: where they come from ([`source`]), why none could be had
//! ([`error`]), fetching one ([`fetch`]), and the cache that keeps it and
//! lets one refresh serve every caller waiting for it ([`cache`]).
//!
//! With the `redis` feature, [`store`] keeps one token for every instance
//! of an app, and the cache asks it instead of fetching.
//!
//! Imports run `source`, `error` -> `fetch` -> `store` -> `cache`; this
//! module only declares and re-exports them.

mod cache;
mod error;
mod fetch;
mod source;
#[cfg(feature = "redis")]
mod store;

pub(crate) use cache::{Lease, TokenCache};
pub use error::{TokenErrcode, TokenError, TokenErrorKind};
pub use source::{BoxError, BoxFuture, FreshToken, TokenProvider, TokenSource};
#[cfg(feature = "redis")]
pub(crate) use store::Store;
#[cfg(feature = "redis")]
pub use store::{StoreFallback, TokenStore};
