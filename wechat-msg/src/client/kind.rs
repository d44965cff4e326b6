//! What went wrong with a call, and what that says about delivery: the
//! kinds the call loop reports and the public error carries.

use crate::WireError;
use crate::answer::{Escaped, Rejection};

use super::failure::{BadAnswer, DeliveryUnknown, TransportError};
use super::token::TokenError;

/// What went wrong.
///
/// Its [`source`](std::error::Error::source) is the value the variant holds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind<C> {
    /// WeChat answered with an errcode: the endpoint's errcode enum, the
    /// errmsg and the request id it quoted. Retryable codes were retried first.
    #[error("WeChat answered {0}")]
    Rejected(#[source] Rejection<C>),
    /// The request may have reached WeChat, and no usable answer came back.
    /// Never retried: a send is not idempotent.
    #[error("delivery unknown (the request may have reached WeChat; not retried): {0}")]
    DeliveryUnknown(#[source] DeliveryUnknown),
    /// Nothing reached WeChat: the connection could not be made.
    #[error("not sent: could not connect: {0}")]
    NotSent(#[source] TransportError),
    /// WeChat answered success, but the answer does not match the spec.
    #[error("WeChat answered success, but the answer does not match the spec: {0}")]
    BadAnswer(#[source] BadAnswer),
    /// No access token could be had; nothing was sent.
    #[error("not sent: no access token: {0}")]
    Token(#[source] TokenError),
    /// The request body does not match the spec ([`Client::send_value`](crate::Client::send_value)
    /// only); nothing was sent.
    #[error("not sent: invalid request: {}", Escaped(.0))]
    InvalidRequest(#[source] WireError),
}

/// Whether a failed call's message may have been delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Delivery {
    /// Nothing reached WeChat: sending again is safe.
    NotSent,
    /// The request may have reached WeChat: sending again may deliver twice.
    Unknown,
    /// WeChat answered: with an errcode (the call did nothing), or with a
    /// success whose content could not be read (the call succeeded).
    Answered,
}

impl<C> ErrorKind<C> {
    /// Whether the message may have been delivered.
    pub fn delivery(&self) -> Delivery {
        match self {
            ErrorKind::Rejected(_) | ErrorKind::BadAnswer(_) => Delivery::Answered,
            ErrorKind::DeliveryUnknown(_) => Delivery::Unknown,
            ErrorKind::NotSent(_) | ErrorKind::Token(_) | ErrorKind::InvalidRequest(_) => {
                Delivery::NotSent
            }
        }
    }

    /// The same kind with the errcode mapped by `f`.
    pub(crate) fn map_errcode<D>(self, f: impl FnOnce(&C, &str) -> D) -> ErrorKind<D> {
        match self {
            ErrorKind::Rejected(r) => ErrorKind::Rejected(Rejection {
                errcode: f(&r.errcode, &r.errmsg),
                errmsg: r.errmsg,
                rid: r.rid,
            }),
            ErrorKind::DeliveryUnknown(d) => ErrorKind::DeliveryUnknown(d),
            ErrorKind::NotSent(t) => ErrorKind::NotSent(t),
            ErrorKind::BadAnswer(b) => ErrorKind::BadAnswer(b),
            ErrorKind::Token(t) => ErrorKind::Token(t),
            ErrorKind::InvalidRequest(w) => ErrorKind::InvalidRequest(w),
        }
    }

    /// A short name for logs.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ErrorKind::Rejected(_) => "rejected",
            ErrorKind::DeliveryUnknown(_) => "delivery_unknown",
            ErrorKind::NotSent(_) => "not_sent",
            ErrorKind::BadAnswer(_) => "bad_answer",
            ErrorKind::Token(_) => "token",
            ErrorKind::InvalidRequest(_) => "invalid_request",
        }
    }
}
