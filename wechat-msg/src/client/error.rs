//! The one error type of a call, and its erased form for app-wide errors.

use std::fmt::{self, Write as _};
use std::time::Duration;

use crate::Form;
use crate::answer::{EscapeControl, Rejection};
use crate::endpoint::{AnyErrcode, Errcode, ErrorClass};

use super::call::Failed;
use super::failure::{BadAnswer, DeliveryUnknown};
use super::kind::{Delivery, ErrorKind};

/// A call that did not succeed.
///
/// `C` is the endpoint's errcode enum for [`Client::send`](crate::Client::send)
/// and [`AnyErrcode`] for [`Client::send_value`](crate::Client::send_value).
/// What matters most after a failed send is whether the message may have been
/// delivered: see [`Error::delivery`].
///
/// Neither `Display` nor `Debug` ever contains the access_token or the app
/// secret: transport errors carry no URL, and answer excerpts and errmsgs are
/// scrubbed of both. `Display` is one line: the control characters of a
/// hostile errmsg are escaped. [`source`](std::error::Error::source) is the
/// cause the kind holds (the [`Rejection`], a transport error, ...).
///
/// Errors of different endpoints become one type with [`Error::erase`], or
/// with `?` into [`AnyError`].
pub struct Error<C = AnyErrcode> {
    inner: Box<Inner<C>>,
}

#[derive(Debug)]
struct Inner<C> {
    endpoint: &'static str,
    via: Form,
    attempts: u32,
    /// The call's deadline, when reaching it stopped a retry.
    deadline: Option<Duration>,
    kind: ErrorKind<C>,
}

impl<C> Error<C> {
    /// A failure after `attempts` requests: an invalid request (none), or
    /// an answer that could not be read.
    pub(crate) fn new(
        endpoint: &'static str,
        via: Form,
        attempts: u32,
        kind: ErrorKind<C>,
    ) -> Self {
        Error {
            inner: Box::new(Inner {
                endpoint,
                via,
                attempts,
                deadline: None,
                kind,
            }),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind<C> {
        &self.inner.kind
    }

    /// What went wrong, owned.
    pub fn into_kind(self) -> ErrorKind<C> {
        self.inner.kind
    }

    /// The cloud-call name of the endpoint called (`customerServiceMessage.send`).
    pub fn endpoint(&self) -> &'static str {
        self.inner.endpoint
    }

    /// The wire form the request travelled in: [`Form::Http`] or [`Form::Cloud`].
    pub fn via(&self) -> Form {
        self.inner.via
    }

    /// How many requests were made for the call (0 when none was).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// The call's total deadline ([`RetryPolicy::deadline`](super::RetryPolicy::deadline)),
    /// when reaching it is why no further attempt was made.
    pub fn deadline_reached(&self) -> Option<Duration> {
        self.inner.deadline
    }

    /// Whether the message may have been delivered.
    pub fn delivery(&self) -> Delivery {
        self.inner.kind.delivery()
    }

    /// The request may have reached WeChat and no usable answer came back.
    pub fn is_delivery_unknown(&self) -> bool {
        self.delivery() == Delivery::Unknown
    }

    /// Nothing reached WeChat (no connection, no token, an invalid request).
    pub fn is_not_sent(&self) -> bool {
        self.delivery() == Delivery::NotSent
    }

    /// A timeout: connecting, waiting for the answer, or fetching the token.
    pub fn is_timeout(&self) -> bool {
        match &self.inner.kind {
            ErrorKind::DeliveryUnknown(DeliveryUnknown::Timeout(_)) => true,
            ErrorKind::NotSent(t) => t.is_timeout(),
            ErrorKind::Token(t) => t.is_timeout(),
            _ => false,
        }
    }

    /// WeChat's refusal, when it answered with an errcode.
    pub fn rejection(&self) -> Option<&Rejection<C>> {
        match &self.inner.kind {
            ErrorKind::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// The errcode WeChat answered, as the endpoint's enum.
    pub fn errcode(&self) -> Option<&C> {
        self.rejection().map(|r| &r.errcode)
    }

    /// WeChat's errmsg, when it answered with an errcode: at most
    /// [`ERRMSG_KEPT`](crate::meta::ERRMSG_KEPT) bytes, scrubbed of the
    /// token and the secret, otherwise as given (escape it before printing
    /// it anywhere else than through this error's `Display`).
    pub fn errmsg(&self) -> Option<&str> {
        self.rejection().map(|r| r.errmsg.as_str())
    }

    /// The unreadable answer, wherever it came from: a success that does not
    /// match the spec, an answer that left delivery unknown, or the token
    /// endpoint's.
    pub fn bad_answer(&self) -> Option<&BadAnswer> {
        match &self.inner.kind {
            ErrorKind::BadAnswer(b) | ErrorKind::DeliveryUnknown(DeliveryUnknown::BadAnswer(b)) => {
                Some(b)
            }
            ErrorKind::Token(t) => t.bad_answer(),
            _ => None,
        }
    }

    /// The same error with the errcode mapped by `f(code, errmsg)`.
    fn map_errcode<D>(self, f: impl FnOnce(&C, &str) -> D) -> Error<D> {
        let Inner {
            endpoint,
            via,
            attempts,
            deadline,
            kind,
        } = *self.inner;
        Error {
            inner: Box::new(Inner {
                endpoint,
                via,
                attempts,
                deadline,
                kind: kind.map_errcode(f),
            }),
        }
    }
}

impl Error<i64> {
    /// The error of a failed call to `endpoint`, its raw errcode not yet mapped.
    pub(crate) fn failed(endpoint: &'static str, via: Form, failed: Failed) -> Self {
        Error {
            inner: Box::new(Inner {
                endpoint,
                via,
                attempts: failed.attempts,
                deadline: failed.deadline,
                kind: failed.kind,
            }),
        }
    }

    /// The same error with the errcode as `C`.
    pub(crate) fn with_errcode<C: Errcode>(self, f: impl FnOnce(i64, &str) -> C) -> Error<C> {
        self.map_errcode(|code, errmsg| f(*code, errmsg))
    }
}

impl<C: Errcode> Error<C> {
    /// The same error with its errcode erased to [`AnyErrcode`]: the code,
    /// its row in the spec (name, class, description), the errmsg, the rid,
    /// the kind and the delivery verdict are all kept. Errors of every
    /// endpoint then have one type, the one [`Client::send_value`](crate::Client::send_value)
    /// returns.
    ///
    /// ```no_run
    /// use wechat_msg::Client;
    /// use wechat_msg::client::Error;
    /// use wechat_msg::{CustomerServiceMessage, SubscribeMessage};
    ///
    /// # async fn run(client: Client, text: CustomerServiceMessage, subscribe: SubscribeMessage) -> Result<(), Error> {
    /// client.send(&text).await.map_err(Error::erase)?;
    /// client.send(&subscribe).await.map_err(Error::erase)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn erase(self) -> Error<AnyErrcode> {
        self.map_errcode(|code, _| AnyErrcode::of(code))
    }

    /// How the client treats the errcode WeChat answered, if it answered one.
    pub fn class(&self) -> Option<ErrorClass> {
        self.errcode().map(Errcode::class)
    }
}

impl<C: fmt::Debug> fmt::Debug for Error<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        let mut debug = f.debug_struct("Error");
        debug
            .field("endpoint", &inner.endpoint)
            .field("via", &inner.via)
            .field("attempts", &inner.attempts);
        if let Some(deadline) = &inner.deadline {
            debug.field("deadline_reached", deadline);
        }
        debug.field("kind", &inner.kind).finish()
    }
}

impl<C: Errcode> fmt::Display for Error<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        // Everything goes through the escaper: no part of the message can
        // break the line or reach a terminal as a control sequence.
        let mut out = EscapeControl(f);
        write!(
            out,
            "{} (via {}): {}",
            inner.endpoint, inner.via, inner.kind
        )?;
        if let Some(deadline) = inner.deadline {
            write!(
                out,
                " (the call's {} s deadline was reached after {} attempts; not tried again)",
                deadline.as_secs_f64(),
                inner.attempts
            )?;
        } else if inner.attempts > 1 {
            write!(out, " (after {} attempts)", inner.attempts)?;
        }
        Ok(())
    }
}

impl<C: Errcode> std::error::Error for Error<C> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.inner.kind)
    }
}

/// A call's error with its errcode erased: one type for the errors of every
/// endpoint, for an app-wide error type. `?` turns any [`Error<C>`] into it;
/// it derefs to the erased [`Error<AnyErrcode>`](Error), which keeps the
/// errcode, its class and the delivery verdict.
///
/// ```no_run
/// use wechat_msg::Client;
/// use wechat_msg::client::{AnyError, Delivery};
/// use wechat_msg::{CustomerServiceMessage, ErrorClass, SubscribeMessage};
///
/// async fn notify(
///     client: &Client,
///     text: &CustomerServiceMessage,
///     subscribe: &SubscribeMessage,
/// ) -> Result<(), AnyError> {
///     client.send(text).await?;
///     client.send(subscribe).await?;
///     Ok(())
/// }
///
/// # async fn run(client: Client, text: CustomerServiceMessage, subscribe: SubscribeMessage) {
/// if let Err(err) = notify(&client, &text, &subscribe).await {
///     let busy = err.class() == Some(ErrorClass::Retry);
///     let maybe_sent = err.delivery() == Delivery::Unknown;
///     eprintln!("{err} (busy: {busy}, maybe sent: {maybe_sent})");
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct AnyError(Error<AnyErrcode>);

impl AnyError {
    /// The erased error.
    pub fn into_inner(self) -> Error<AnyErrcode> {
        self.0
    }
}

impl std::ops::Deref for AnyError {
    type Target = Error<AnyErrcode>;

    fn deref(&self) -> &Error<AnyErrcode> {
        &self.0
    }
}

impl<C: Errcode> From<Error<C>> for AnyError {
    fn from(err: Error<C>) -> Self {
        AnyError(err.erase())
    }
}

impl From<AnyError> for Error<AnyErrcode> {
    fn from(err: AnyError) -> Self {
        err.into_inner()
    }
}
