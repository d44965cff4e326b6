//! The one error type of a call, its kinds, and what they say about delivery.

use std::fmt;

use crate::answer::{MalformedAnswer, Rejection};
use crate::endpoint::{EndpointInfo, ErrcodeInfo, ErrorClass};
use crate::wire::{Form, WireError};

use super::token::TokenError;

/// A call that did not succeed.
///
/// `C` is the endpoint's errcode enum for [`Client::send`](super::Client::send)
/// and [`AnyErrcode`] for [`Client::send_value`](super::Client::send_value).
/// What matters most after a failed send is whether the message may have been
/// delivered: see [`Error::delivery`].
///
/// Neither `Display` nor `Debug` ever contains the access_token or the app
/// secret: transport errors carry no URL, and answer excerpts and errmsgs are
/// scrubbed of both.
pub struct Error<C = AnyErrcode> {
    inner: Box<Inner<C>>,
}

#[derive(Debug)]
struct Inner<C> {
    endpoint: &'static str,
    via: Form,
    attempts: u32,
    kind: ErrorKind<C>,
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind<C> {
    /// WeChat answered with an errcode: the endpoint's errcode enum, the
    /// errmsg and the request id it quoted. Retryable codes were retried first.
    Rejected(Rejection<C>),
    /// The request may have reached WeChat, and no usable answer came back.
    /// Never retried: a send is not idempotent.
    DeliveryUnknown(DeliveryUnknown),
    /// Nothing reached WeChat: the connection could not be made.
    NotSent(TransportError),
    /// WeChat answered success, but the answer does not match the spec.
    BadAnswer(BadAnswer),
    /// No access token could be had; nothing was sent.
    Token(TokenError),
    /// The request body does not match the spec ([`Client::send_value`](super::Client::send_value)
    /// only); nothing was sent.
    InvalidRequest(WireError),
}

/// Why the delivery of a request is unknown.
#[derive(Debug)]
#[non_exhaustive]
pub enum DeliveryUnknown {
    /// No complete answer came within the total timeout after the request went out.
    Timeout(TransportError),
    /// The connection broke after the request went out (reset mid-answer).
    Interrupted(TransportError),
    /// What came back is not a WeChat answer: a gateway error, an HTML page,
    /// an empty, truncated or oversized body, an errcode that is not a number.
    BadAnswer(BadAnswer),
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

impl<C> Error<C> {
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

    /// Whether the message may have been delivered.
    pub fn delivery(&self) -> Delivery {
        match &self.inner.kind {
            ErrorKind::Rejected(_) | ErrorKind::BadAnswer(_) => Delivery::Answered,
            ErrorKind::DeliveryUnknown(_) => Delivery::Unknown,
            ErrorKind::NotSent(_) | ErrorKind::Token(_) | ErrorKind::InvalidRequest(_) => {
                Delivery::NotSent
            }
        }
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
    pub(crate) fn map_errcode<D>(self, f: impl FnOnce(&C, &str) -> D) -> Error<D> {
        let Inner {
            endpoint,
            via,
            attempts,
            kind,
        } = *self.inner;
        let kind = match kind {
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
        };
        Error::new(endpoint, via, attempts, kind)
    }
}

impl<C: fmt::Debug> fmt::Debug for Error<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("endpoint", &self.inner.endpoint)
            .field("via", &self.inner.via)
            .field("attempts", &self.inner.attempts)
            .field("kind", &self.inner.kind)
            .finish()
    }
}

impl<C: fmt::Display> fmt::Display for Error<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        write!(f, "{} (via {}): ", inner.endpoint, inner.via)?;
        match &inner.kind {
            ErrorKind::Rejected(r) => {
                write!(f, "WeChat answered {} (errmsg: {:?})", r.errcode, r.errmsg)?
            }
            ErrorKind::DeliveryUnknown(d) => write!(
                f,
                "delivery unknown (the request may have reached WeChat; not retried): {d}"
            )?,
            ErrorKind::NotSent(t) => write!(f, "not sent: could not connect: {t}")?,
            ErrorKind::BadAnswer(b) => write!(
                f,
                "WeChat answered success, but the answer does not match the spec: {b}"
            )?,
            ErrorKind::Token(t) => write!(f, "not sent: no access token: {t}")?,
            ErrorKind::InvalidRequest(w) => write!(f, "not sent: invalid request: {w}")?,
        }
        if inner.attempts > 1 {
            write!(f, " (after {} attempts)", inner.attempts)?;
        }
        Ok(())
    }
}

impl<C: fmt::Debug + fmt::Display> std::error::Error for Error<C> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.kind {
            ErrorKind::Token(t) => Some(t),
            ErrorKind::InvalidRequest(w) => Some(w),
            _ => None,
        }
    }
}

impl fmt::Display for DeliveryUnknown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeliveryUnknown::Timeout(t) => write!(f, "no answer within the timeout: {t}"),
            DeliveryUnknown::Interrupted(t) => write!(f, "the connection broke: {t}"),
            DeliveryUnknown::BadAnswer(b) => write!(f, "not a WeChat answer: {b}"),
        }
    }
}

/// A failure of the HTTP exchange itself, described without its URL.
#[derive(Clone, Debug)]
pub struct TransportError {
    message: String,
    timeout: bool,
}

impl TransportError {
    /// From a reqwest error: the URL (and its access_token) is dropped, and the
    /// chain of causes is kept as text.
    pub(crate) fn from_reqwest(err: reqwest::Error, scrub: &Scrub<'_>) -> Self {
        let timeout = err.is_timeout();
        let err = err.without_url();
        let mut message = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            let text = cause.to_string();
            if !message.ends_with(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = cause.source();
        }
        TransportError {
            message: scrub.apply(&message),
            timeout,
        }
    }

    pub(crate) fn invalid_url() -> Self {
        TransportError {
            message: "the base URL and the path do not make a valid URL".to_owned(),
            timeout: false,
        }
    }

    pub(crate) fn timed_out(what: &str) -> Self {
        TransportError {
            message: what.to_owned(),
            timeout: true,
        }
    }

    /// Whether it is a timeout.
    pub fn is_timeout(&self) -> bool {
        self.timeout
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// An answer that could not be read: its status, content type, what is
/// wrong, and the beginning of the body.
#[derive(Clone)]
pub struct BadAnswer(Box<AnswerParts>);

#[derive(Clone)]
struct AnswerParts {
    status: u16,
    content_type: Option<String>,
    problem: AnswerProblem,
    excerpt: String,
}

/// What is wrong with an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerProblem {
    /// The HTTP status is not a success (a gateway's 502, say).
    Status,
    /// The body is longer than the client's cap.
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The body is empty.
    Empty,
    /// The body is not what WeChat answers: not JSON, not an object, or an
    /// errcode that is not an integer.
    Malformed(MalformedAnswer),
    /// The cloud call's `resp_data` is missing or is not JSON text.
    RespData,
    /// A success whose fields do not match the spec.
    Fields(WireError),
    /// Raw bytes where the endpoint answers JSON, or JSON where it answers bytes.
    UnexpectedShape,
}

/// How many characters of a body an excerpt keeps.
const EXCERPT_CHARS: usize = 200;

impl BadAnswer {
    pub(crate) fn new(
        status: u16,
        content_type: Option<&str>,
        problem: AnswerProblem,
        body: &[u8],
        scrub: &Scrub<'_>,
    ) -> Self {
        BadAnswer(Box::new(AnswerParts {
            status,
            content_type: content_type.map(|c| scrub.apply(&excerpt(c.as_bytes(), 100))),
            problem,
            excerpt: scrub.apply(&excerpt(body, EXCERPT_CHARS)),
        }))
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.0.status
    }

    /// The `Content-Type` of the answer, if it had one.
    pub fn content_type(&self) -> Option<&str> {
        self.0.content_type.as_deref()
    }

    /// What is wrong.
    pub fn problem(&self) -> &AnswerProblem {
        &self.0.problem
    }

    /// The beginning of the body (at most 200 characters, control characters
    /// escaped, the access_token and secret replaced by `***`).
    pub fn excerpt(&self) -> &str {
        &self.0.excerpt
    }
}

impl fmt::Debug for BadAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = &self.0;
        f.debug_struct("BadAnswer")
            .field("status", &parts.status)
            .field("content_type", &parts.content_type)
            .field("problem", &parts.problem)
            .field("excerpt", &parts.excerpt)
            .finish()
    }
}

impl fmt::Display for BadAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = &self.0;
        write!(f, "HTTP {}", parts.status)?;
        if let Some(ct) = &parts.content_type {
            write!(f, " ({ct})")?;
        }
        write!(f, ", {}", parts.problem)?;
        if !parts.excerpt.is_empty() {
            write!(f, "; body: {:?}", parts.excerpt)?;
        }
        Ok(())
    }
}

impl fmt::Display for AnswerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerProblem::Status => f.write_str("not a success status"),
            AnswerProblem::TooLarge { limit } => write!(f, "body longer than {limit} bytes"),
            AnswerProblem::Empty => f.write_str("empty body"),
            AnswerProblem::Malformed(m) => write!(f, "{m}"),
            AnswerProblem::RespData => {
                f.write_str("the cloud call's resp_data is missing or not JSON")
            }
            AnswerProblem::Fields(w) => write!(f, "{w}"),
            AnswerProblem::UnexpectedShape => {
                f.write_str("not the kind of answer the endpoint gives (JSON or bytes)")
            }
        }
    }
}

/// The first `max` characters of `body`, lossily decoded, with control
/// characters escaped so the excerpt stays on one line.
fn excerpt(body: &[u8], max: usize) -> String {
    let head = &body[..body.len().min(max * 4)];
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Texts that must never appear in an error: the access_token of the call
/// and the app secret.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Scrub<'a> {
    pub(crate) token: Option<&'a str>,
    pub(crate) secret: Option<&'a str>,
}

impl Scrub<'_> {
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in [self.token, self.secret].into_iter().flatten() {
            if !secret.is_empty() && out.contains(secret) {
                out = out.replace(secret, "***");
            }
        }
        out
    }
}

/// An errcode of an endpoint known only at run time, from its
/// [`EndpointInfo::errcodes`] table: what [`Client::send_value`](super::Client::send_value)
/// reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnyErrcode {
    code: i64,
    info: Option<&'static ErrcodeInfo>,
}

impl AnyErrcode {
    /// The errcode `code` of `endpoint`.
    pub fn new(endpoint: &'static EndpointInfo, code: i64) -> Self {
        AnyErrcode {
            code,
            info: endpoint.errcode(code),
        }
    }

    /// The numeric code.
    pub fn code(&self) -> i64 {
        self.code
    }

    /// The spec's table row, `None` for a code the spec does not list.
    pub fn info(&self) -> Option<&'static ErrcodeInfo> {
        self.info
    }

    /// The Rust variant name in the spec (`InvalidOpenid`), if listed.
    pub fn name(&self) -> Option<&'static str> {
        self.info.map(|i| i.name)
    }

    /// How the client treats it; unknown codes are permanent.
    pub fn class(&self) -> ErrorClass {
        self.info.map_or(ErrorClass::Permanent, |i| i.class)
    }

    /// Whether a retry with backoff may succeed.
    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retry
    }

    /// Whether the access_token used is no longer valid.
    pub fn invalidates_token(&self) -> bool {
        self.class() == ErrorClass::RefreshToken
    }

    /// The documented meaning, or `""` for an unknown code.
    pub fn description(&self) -> &'static str {
        self.info.map_or("", |i| i.description)
    }
}

impl fmt::Display for AnyErrcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.info {
            Some(info) => write!(f, "{} ({}): {}", info.name, info.code, info.description),
            None => write!(f, "unknown errcode {}", self.code),
        }
    }
}
