//! Receiving message pushes (feature `push`).
//!
//! WeChat announces what users do (a message to customer service, entering
//! the conversation, a subscribe popup answered, a subscribe message
//! delivered) by pushing it to the developer's server: signed with the push
//! Token and, in safe mode, sealed with the EncodingAESKey, as JSON or XML.
//!
//! The typed pushes are generated from the spec's `[[push]]` tables (the
//! `Push` enum at the crate root) and are always available; receiving
//! (signatures, the envelope, JSON and XML bodies, the axum service) needs
//! the `push` feature.

#[cfg(feature = "push")]
pub mod body;
#[cfg(feature = "push")]
pub mod crypto;
#[cfg(feature = "push")]
pub mod dedupe;
pub mod form;
#[cfg(all(feature = "push", feature = "redis"))]
pub mod inbox;
#[cfg(feature = "push")]
pub mod receiver;
#[cfg(all(feature = "push", feature = "redis"))]
pub mod redis_dedupe;
#[cfg(feature = "push")]
pub mod sender;
#[cfg(feature = "push")]
pub mod serve;
#[cfg(feature = "push")]
pub mod service;

#[cfg(feature = "push")]
pub use dedupe::{Dedupe, MemoryDedupe, StoreError};
pub use form::{PushMessage, UnknownPush};
#[cfg(all(feature = "push", feature = "redis"))]
pub use inbox::{Inbox, InboxStats, Parked};
#[cfg(feature = "push")]
pub use receiver::{PushConfig, PushQuery, Received, Receiver, Refusal};
#[cfg(all(feature = "push", feature = "redis"))]
pub use redis_dedupe::RedisDedupe;
#[cfg(feature = "push")]
pub use sender::{PushSigner, SignedPush};
#[cfg(feature = "push")]
pub use serve::{Server, serve};
#[cfg(feature = "push")]
pub use service::PushService;
