//! One HTTP exchange: sending a request made ready by a wire form (`http`,
//! `cloud`), reading the answer under a size cap, and sorting failures by
//! what they say about delivery.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use crate::answer::{self, MalformedAnswer, Refusal, read_status};
use crate::endpoint::{MediaBytes, Method};
use crate::wire::Form;

use super::failure::{AnswerProblem, BadAnswer, DeliveryUnknown, Failure, TransportError};
use super::secrets::{AccessToken, Scrub};

/// The HTTP side of a client: connection pool, base URL and answer cap.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    /// The base URL, without a trailing `/`.
    pub(crate) base: Arc<str>,
    /// The base URL, parsed once: each request's URL is a copy with its
    /// path and query set.
    pub(crate) base_url: reqwest::Url,
    pub(crate) max_answer: usize,
}

/// A request ready to be sent, once per attempt. No Debug: its query and
/// body may hold the app secret.
pub(crate) struct Outgoing {
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    /// Query pairs besides the access_token.
    pub(crate) query: Vec<QueryPair>,
    pub(crate) body: OutBody,
}

/// One `key=value` of a query. A joined list's items are escaped one by
/// one and its separator is written as is: `ids=2,616`.
pub(crate) struct QueryPair {
    pub(crate) key: String,
    pub(crate) items: Vec<String>,
    pub(crate) join: &'static str,
}

impl QueryPair {
    /// A pair with one text value.
    pub(crate) fn text(key: impl Into<String>, value: impl Into<String>) -> Self {
        QueryPair {
            key: key.into(),
            items: vec![value.into()],
            join: "",
        }
    }

    fn write(&self, out: &mut String) {
        out.extend(form_urlencoded::byte_serialize(self.key.as_bytes()));
        out.push('=');
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push_str(self.join);
            }
            out.extend(form_urlencoded::byte_serialize(item.as_bytes()));
        }
    }
}

pub(crate) enum OutBody {
    Empty,
    Json(Bytes),
    Multipart(Vec<OutPart>),
    /// `application/x-www-form-urlencoded`, already encoded.
    Form(Bytes),
}

pub(crate) enum OutPart {
    Text {
        name: String,
        value: String,
    },
    /// A file part: its bytes as they go out (shared by every attempt).
    File {
        name: String,
        file_name: String,
        content_type: String,
        bytes: Bytes,
    },
}

/// A complete answer: status, content type, body. Its `Debug` shows the
/// body's length only: a token answer's bytes are secret.
pub(crate) struct Received {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Received")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Received {
    pub(crate) fn bad(&self, problem: AnswerProblem, scrub: &Scrub<'_>) -> Failure {
        Failure::Unknown(DeliveryUnknown::BadAnswer(BadAnswer::new(
            self.status,
            self.content_type.as_deref(),
            problem,
            &self.body,
            scrub,
        )))
    }
}

/// A WeChat answer, its errcode read.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The form of `payload` (and of its status keys).
    pub(crate) form: Form,
    /// The refusal, `None` on success.
    pub(crate) status: Option<Refusal>,
    pub(crate) payload: Payload,
}

#[derive(Debug)]
pub(crate) enum Payload {
    Json(Value),
    /// A success's JSON text, as it came: an object whose errcode is 0 or
    /// absent, no key given twice, no secret and no escape in it (so there
    /// is nothing to scrub).
    Text(String),
    Binary(MediaBytes),
}

impl Transport {
    /// Sends `out` once, with `token` in the query when given, and reads the
    /// whole answer.
    pub(crate) async fn exchange(
        &self,
        out: &Outgoing,
        token: Option<&AccessToken>,
        scrub: &Scrub<'_>,
    ) -> Result<Received, Failure> {
        let url = self.url(out, token);
        let method = match out.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut request = self.http.request(method, url);
        match &out.body {
            OutBody::Empty => {}
            OutBody::Json(bytes) => {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(bytes.clone());
            }
            OutBody::Multipart(parts) => request = request.multipart(multipart(parts)),
            OutBody::Form(bytes) => {
                request = request
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(bytes.clone());
            }
        }
        let response = request.send().await.map_err(|e| classify(e, scrub))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = self
            .read_body(response, scrub)
            .await
            .map_err(|failure| match failure {
                BodyFailure::Transport(f) => f,
                BodyFailure::TooLarge(head) => Received {
                    status,
                    content_type: content_type.clone(),
                    body: head,
                }
                .bad(
                    AnswerProblem::TooLarge {
                        limit: self.max_answer,
                    },
                    scrub,
                ),
            })?;
        Ok(Received {
            status,
            content_type,
            body,
        })
    }

    fn url(&self, out: &Outgoing, token: Option<&AccessToken>) -> reqwest::Url {
        let mut url = self.base_url.clone();
        let base_path = url.path().trim_end_matches('/');
        if base_path.is_empty() {
            url.set_path(out.path);
        } else {
            let path = format!("{base_path}{}", out.path);
            url.set_path(&path);
        }
        if token.is_some() || !out.query.is_empty() {
            let mut query = String::with_capacity(64);
            if let Some(token) = token {
                query.push_str("access_token=");
                query.extend(form_urlencoded::byte_serialize(token.expose().as_bytes()));
            }
            for pair in &out.query {
                if !query.is_empty() {
                    query.push('&');
                }
                pair.write(&mut query);
            }
            url.set_query(Some(&query));
        }
        url
    }

    /// Reads the body, at most `max_answer` bytes.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        scrub: &Scrub<'_>,
    ) -> Result<Vec<u8>, BodyFailure> {
        let cap = self.max_answer;
        if response
            .content_length()
            .is_some_and(|len| len > cap as u64)
        {
            return Err(BodyFailure::TooLarge(Vec::new()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| BodyFailure::Transport(classify(e, scrub)))?
        {
            if body.len() + chunk.len() > cap {
                let room = cap - body.len();
                body.extend_from_slice(&chunk[..room]);
                return Err(BodyFailure::TooLarge(body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

enum BodyFailure {
    Transport(Failure),
    /// Over the cap; holds what was read.
    TooLarge(Vec<u8>),
}

/// Sorts a reqwest failure: a connection never made means nothing was sent;
/// anything later leaves delivery unknown.
fn classify(err: reqwest::Error, scrub: &Scrub<'_>) -> Failure {
    let not_sent = err.is_connect() || err.is_builder();
    let transport = TransportError::from_reqwest(err, scrub);
    if not_sent {
        Failure::NotSent(transport)
    } else if transport.is_timeout() {
        Failure::Unknown(DeliveryUnknown::Timeout(transport))
    } else {
        Failure::Unknown(DeliveryUnknown::Interrupted(transport))
    }
}

fn multipart(parts: &[OutPart]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new();
    for part in parts {
        form = match part {
            OutPart::Text { name, value } => form.text(name.clone(), value.clone()),
            OutPart::File {
                name,
                file_name,
                content_type,
                bytes,
            } => {
                let len = bytes.len() as u64;
                let base = || {
                    reqwest::multipart::Part::stream_with_length(bytes.clone(), len)
                        .file_name(file_name.clone())
                };
                let part = base().mime_str(content_type).unwrap_or_else(|_| base());
                form.part(name.clone(), part)
            }
        };
    }
    form
}

/// Parses a JSON answer and its errcode in `form`. A body that is not
/// UTF-8 is read only as far as a refusal: its errmsg decoded lossily.
pub(crate) fn read_json(
    received: &Received,
    form: Form,
    scrub: &Scrub<'_>,
) -> Result<(Option<Refusal>, Value), Failure> {
    if received.body.iter().all(u8::is_ascii_whitespace) {
        return Err(received.bad(AnswerProblem::Empty, scrub));
    }
    let malformed = |m| received.bad(AnswerProblem::Malformed(m), scrub);
    let parsed = answer::parse(&received.body).map_err(malformed)?;
    match read_status(&parsed.value, form).map_err(malformed)? {
        None if parsed.lossy => Err(malformed(MalformedAnswer::NotUtf8)),
        status => Ok((status, parsed.value)),
    }
}
