//! How one exchange fails: the transport's own errors, unreadable answers,
//! and what each says about delivery. Owned here, below the transport, so
//! the transport, the token layer and the public error all build on them.

use std::fmt;

use crate::WireError;
use crate::answer::{Escaped, MalformedAnswer};

use super::secrets::Scrub;

/// A failure of the HTTP exchange itself, described without its URL (and
/// so without the access_token or the secret the query may carry).
///
/// Its [`source`](std::error::Error::source) is the underlying
/// [`reqwest::Error`], its URL removed, when there is one.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// The cause chain as one line: scrubbed, control characters escaped.
    message: String,
    timeout: bool,
    #[source]
    cause: Option<reqwest::Error>,
}

impl TransportError {
    /// From a reqwest error: the URL is dropped, the chain of causes is
    /// kept as text for `Display` and as the error for `source()`.
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
            message: Escaped(scrub.apply(&message)).to_string(),
            timeout,
            cause: Some(err),
        }
    }

    /// The request could not be written (never sent).
    pub(crate) fn unwritable(why: &serde_json::Error) -> Self {
        TransportError {
            message: format!("the request could not be written: {why}"),
            timeout: false,
            cause: None,
        }
    }

    pub(crate) fn timed_out(what: &str) -> Self {
        TransportError {
            message: what.to_owned(),
            timeout: true,
            cause: None,
        }
    }

    /// Whether it is a timeout.
    pub fn is_timeout(&self) -> bool {
        self.timeout
    }
}

/// Why the delivery of a request is unknown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryUnknown {
    /// No complete answer came within the total timeout after the request went out.
    #[error("no answer within the timeout: {0}")]
    Timeout(#[source] TransportError),
    /// The connection broke after the request went out (reset mid-answer).
    #[error("the connection broke: {0}")]
    Interrupted(#[source] TransportError),
    /// Something answered, but not as WeChat does: a gateway's page, a
    /// truncated or oversized body, an errcode that is not a number.
    #[error("not a WeChat answer: {0}")]
    BadAnswer(#[source] BadAnswer),
}

/// A failed exchange, by what it says about delivery.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Nothing reached the server.
    NotSent(TransportError),
    /// The request may have reached the server.
    Unknown(DeliveryUnknown),
}

/// An answer that could not be read: its status, content type, what is
/// wrong, its size and the beginning of the body (none for a token answer).
///
/// Its [`source`](std::error::Error::source) is the [`AnswerProblem`].
#[derive(Clone, thiserror::Error)]
#[error("{head}, {problem}{}", Body(head))]
pub struct BadAnswer {
    head: Box<AnswerHead>,
    #[source]
    problem: AnswerProblem,
}

#[derive(Clone, Debug)]
struct AnswerHead {
    status: u16,
    content_type: Option<String>,
    /// How many bytes of the body were read.
    len: usize,
    excerpt: String,
    withheld: bool,
}

/// What is wrong with an answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerProblem {
    /// The HTTP status is not a success (a gateway's 502, say).
    #[error("not a success status")]
    Status,
    /// The body is longer than the client's cap.
    #[error("body longer than {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The body is empty.
    #[error("empty body")]
    Empty,
    /// The body is not what WeChat answers: not JSON, not an object, or an
    /// errcode that is not an integer.
    #[error("{0}")]
    Malformed(#[source] MalformedAnswer),
    /// The cloud call's `resp_data` is missing or is not JSON text.
    #[error("the cloud call's resp_data is missing or not JSON")]
    RespData,
    /// A success whose fields do not match the spec.
    #[error("{}", Escaped(.0))]
    Fields(#[source] WireError),
    /// Raw bytes where the endpoint answers JSON, or JSON where it answers bytes.
    #[error("not the kind of answer the endpoint gives (JSON or bytes)")]
    UnexpectedShape,
}

/// How many characters of a body an excerpt keeps.
const EXCERPT_CHARS: usize = 200;

impl BadAnswer {
    /// The answer `body` (as far as it was read) with `problem`. Its
    /// excerpt is scrubbed, or left out when `scrub` withholds the body.
    pub(crate) fn new(
        status: u16,
        content_type: Option<&str>,
        problem: AnswerProblem,
        body: &[u8],
        scrub: &Scrub<'_>,
    ) -> Self {
        let cut = matches!(problem, AnswerProblem::TooLarge { .. });
        let shown = if scrub.withhold_body {
            String::new()
        } else {
            excerpt(body, cut, EXCERPT_CHARS, scrub)
        };
        BadAnswer {
            head: Box::new(AnswerHead {
                status,
                content_type: content_type.map(|c| excerpt(c.as_bytes(), false, 100, scrub)),
                len: body.len(),
                excerpt: shown,
                withheld: scrub.withhold_body,
            }),
            problem,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// The `Content-Type` of the answer, if it had one.
    pub fn content_type(&self) -> Option<&str> {
        self.head.content_type.as_deref()
    }

    /// What is wrong.
    pub fn problem(&self) -> &AnswerProblem {
        &self.problem
    }

    /// How many bytes of the body were read (at most the client's cap).
    pub fn body_len(&self) -> usize {
        self.head.len
    }

    /// The beginning of the body (at most 200 characters, control characters
    /// escaped, the access_token and secret replaced by `***`); empty for
    /// an answer of the token endpoint, any byte of which may be the token.
    pub fn excerpt(&self) -> &str {
        &self.head.excerpt
    }
}

impl fmt::Debug for BadAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = &self.head;
        f.debug_struct("BadAnswer")
            .field("status", &head.status)
            .field("content_type", &head.content_type)
            .field("problem", &self.problem)
            .field("body_len", &head.len)
            .field("excerpt", &head.excerpt)
            .finish()
    }
}

impl fmt::Display for AnswerHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(ct) = &self.content_type {
            write!(f, " ({ct})")?;
        }
        Ok(())
    }
}

/// The end of a bad answer's message: its excerpt, or why it has none.
struct Body<'a>(&'a AnswerHead);

impl fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = self.0;
        if head.withheld {
            write!(f, "; body of {} bytes not shown (a token answer)", head.len)
        } else if !head.excerpt.is_empty() {
            write!(f, "; body: {:?}", head.excerpt)
        } else {
            Ok(())
        }
    }
}

/// The first `max` characters of `body` (which was `cut` short by the
/// cap), lossily decoded, scrubbed, with control characters escaped so the
/// excerpt stays on one line. Scrubbed before it is cut, and stripped of a
/// secret's beginning where the bytes end, so no secret is half shown.
fn excerpt(body: &[u8], cut: bool, max: usize, scrub: &Scrub<'_>) -> String {
    let head = &body[..body.len().min(max * 4 + 256)];
    let text = scrub.apply(&String::from_utf8_lossy(head));
    let text = if cut || head.len() < body.len() {
        scrub.strip_cut_secret(&text)
    } else {
        &text
    };
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        out.push(c);
    }
    Escaped(out).to_string()
}
