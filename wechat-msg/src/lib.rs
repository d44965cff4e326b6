//! Typed WeChat Mini Program message APIs, generated from one spec.
//!
//! Every endpoint in `api-spec/` becomes a request type with a typestate
//! builder, an errcode enum and both wire forms (HTTP snake_case JSON and the
//! cloud call's camelCase JSON), each written and parsed by generated code.
//!
//! ```
//! use wechat_msg::{CustomerServiceMessage, Form, Text, Wire};
//!
//! let message = CustomerServiceMessage::builder()
//!     .touser("OPENID")
//!     .body(Text::builder().content("Hello World").build())
//!     .build();
//! assert_eq!(
//!     message.to_json(Form::Http),
//!     r#"{"touser":"OPENID","msgtype":"text","text":{"content":"Hello World"}}"#
//! );
//! ```
#![deny(missing_docs)]

extern crate self as wechat_msg;

mod answer;
#[cfg(feature = "client")]
pub mod client;
mod endpoint;
mod form;
mod json;
mod keyword_rule;
mod link;
mod media;
pub mod meta;
pub mod protocol;
pub mod push;
pub mod sdk;
pub mod template;
mod wire;

// The root holds what users build, send and receive; every item has this
// one path. Tooling metadata is in `meta`, the framing in `protocol`, the
// client's and the receiver's machinery in `client` and `push`, and the
// helpers of generated code only in `__private` (ARCHITECTURE.md, "One path
// per item").
pub use answer::{MalformedAnswer, Rejection};
#[cfg(feature = "client")]
pub use client::{send::Client, via::Via};
pub use endpoint::{Ack, Answer, AnyErrcode, Endpoint, Errcode, ErrorClass, MediaBytes};
pub use link::{LinkText, MiniProgramLink};
pub use media::MediaFile;
pub use wire::{Form, Hint, Wire, WireError, WireErrorKind, Wired};

/// Generates the API of a spec directory; see `api-spec/README.md`.
///
/// `wechat_msg::api!("path/to/api-spec")` expands to the request types,
/// builders, errcode enums, wire forms and the [`ENDPOINTS`] registry of that
/// spec. A relative path is resolved against the calling crate's
/// `CARGO_MANIFEST_DIR`.
pub use wechat_msg_macros::api;

/// Generates typed subscribe templates from a templates file; see
/// [`template`] for the format.
///
/// `wechat_msg::templates!("templates.toml")` expands to one struct per
/// template, a typestate builder for it, and `to(touser)` giving the
/// [`SubscribeMessage`]. A relative path is resolved like [`api!`]'s.
pub use wechat_msg_macros::templates;

mod api;

pub use api::*;

/// Support for generated code. Not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::answer::*;
    pub use crate::endpoint::*;
    pub use crate::keyword_rule::{ELLIPSIS, KeywordError, KeywordRule, count_chars};
    pub use crate::media::MediaFile;
    pub use crate::push::form::*;
    pub use crate::wire::*;
    pub use serde;
    pub use serde_json::{Map, Value};
    pub use std::collections::BTreeMap;

    /// Builder state: a required field not yet set.
    #[derive(Clone, Copy, Debug, Default)]
    pub struct Unset;

    /// Builder state: a required field set to `T`.
    #[derive(Clone, Debug)]
    pub struct Set<T>(pub T);
}
