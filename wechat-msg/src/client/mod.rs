//! The async client: sends any request of the spec over HTTPS or as a cloud
//! call, with access tokens, retries and errors that say whether the message
//! may have been delivered.
//!
//! One code path serves every endpoint and both transports: a request is
//! turned into its wire value ([`Wire::to_value`](crate::Wire::to_value) for typed requests, the
//! endpoint's `convert` for [`Client::send_value`](crate::Client::send_value)), sent by the call loop
//! (token, attempt, errcode class, retry), and its answer read back.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use wechat_msg::{Client, Via};
//! use wechat_msg::client::{CloudFunction, Delivery};
//! use wechat_msg::{CustomerServiceMessage, CustomerServiceMessageSendErrcode, Text};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // One client per app: it caches the (stable) access token and shares it.
//! let client = Client::builder()
//!     .credentials("APPID", "APPSECRET")
//!     // .base_url("http://127.0.0.1:8080") to send to the local emulator
//!     .timeout(Duration::from_secs(10))
//!     .build()?;
//!
//! let message = CustomerServiceMessage::builder()
//!     .touser("OPENID")
//!     .body(Text::builder().content("Hello World").build())
//!     .build();
//!
//! match client.send(&message).await {
//!     Ok(_) => println!("sent"),
//!     Err(err) if err.errcode() == Some(&CustomerServiceMessageSendErrcode::ReplyWindowClosed) => {
//!         println!("the user has not written recently; try a subscribe message");
//!     }
//!     // A timeout or a broken answer after the request went out: the
//!     // message may have arrived, so it is not resent automatically.
//!     Err(err) if err.delivery() == Delivery::Unknown => eprintln!("maybe sent: {err}"),
//!     Err(err) => return Err(err.into()),
//! }
//!
//! // The same message as a cloud call, through the relay in `cloud-relay/`.
//! let relay = Via::Cloud(CloudFunction::new("ENV_ID", "wechat-msg-relay"));
//! client.send_via(&message, &relay).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! The modules import in one direction, each only from those before it, so
//! a reader can start at the bottom:
//!
//! ```text
//! secrets     AccessToken, AppSecret, Scrub (what must never be shown)
//! retry       RetryPolicy: backoff and the call's deadline
//! failure     TransportError, BadAnswer, DeliveryUnknown: how an exchange fails
//! transport   one HTTP exchange under a size cap
//! http, cloud the two wire forms: request built, answer read
//! via         Via: which of the two
//! shared      (redis) one Redis connection with timeouts, StoreError
//! token       source, error -> fetch -> store -> cache: one refresh for
//!             every caller, and with `redis` for every instance
//! rate        RateLimit: calls per second per endpoint, local or on Redis
//! kind        ErrorKind, Delivery
//! call        the call loop: token, attempt, errcode class, retry
//! error       Error<C>, erase(), AnyError: the public error
//! send        Client: send, send_via, send_value
//! bulk        Client::send_all: concurrency, rate, one send per user at a time
//! builder     ClientBuilder, Client::builder
//! ```
//!
//! This module only declares them and re-exports the public items.

mod builder;
mod bulk;
mod call;
mod cloud;
mod error;
mod failure;
mod http;
mod kind;
mod rate;
mod retry;
mod secrets;
pub(crate) mod send;
#[cfg(feature = "redis")]
pub(crate) mod shared;
mod split;
mod token;
mod transport;
pub(crate) mod via;

pub use builder::{BuildError, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_USER_AGENT};
pub use bulk::{BeforeSend, BulkMessage, BulkOptions, Outcome, Outcomes};
pub use cloud::CloudFunction;
pub use error::{AnyError, Error};
pub use failure::{AnswerProblem, BadAnswer, DeliveryUnknown, TransportError};
pub use kind::{Delivery, ErrorKind};
pub use rate::RateLimit;
pub use retry::RetryPolicy;
pub use secrets::{AccessToken, AppSecret};
pub use token::{
    BoxError, BoxFuture, FreshToken, TokenErrcode, TokenError, TokenErrorKind, TokenProvider,
    TokenSource,
};

#[cfg(feature = "redis")]
pub use shared::StoreError;
#[cfg(feature = "redis")]
pub use token::{StoreFallback, TokenStore};
