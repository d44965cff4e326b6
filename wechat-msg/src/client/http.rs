//! The HTTP form on the wire: an endpoint's answer read back (JSON, or a
//! file's bytes for binary endpoints). Its request is written by
//! [`split`](super::split).

use serde_json::Value;

use crate::Form;
use crate::answer;
use crate::endpoint::{AnswerKind, MediaBytes};

use super::failure::{AnswerProblem, Failure};
use super::secrets::Scrub;
use super::transport::{Payload, Received, Reply, read_json};

pub(crate) use super::split::outgoing;

/// Reads an answer over HTTP: a JSON errcode answer, or (for binary
/// endpoints) the bytes of a file.
pub(crate) fn read(
    received: Received,
    answer: AnswerKind,
    scrub: &Scrub<'_>,
) -> Result<Reply, Failure> {
    if !(200..300).contains(&received.status) {
        return Err(received.bad(AnswerProblem::Status, scrub));
    }
    if answer == AnswerKind::Binary && !received.body.is_empty() && !is_json_like(&received) {
        let content_type = received
            .content_type
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        return Ok(Reply {
            form: Form::Http,
            status: None,
            payload: Payload::Binary(MediaBytes {
                content_type,
                bytes: received.body,
            }),
        });
    }
    // A plain success (the common case) is kept as its text, for the typed
    // answer to be read from it straight; anything else is parsed here.
    let received = match String::from_utf8(received.body) {
        Ok(text) if scrub.is_clean(&text) && answer::is_success_text(&text, Form::Http) => {
            return Ok(Reply {
                form: Form::Http,
                status: None,
                payload: Payload::Text(text),
            });
        }
        Ok(text) => Received {
            body: text.into_bytes(),
            ..received
        },
        Err(err) => Received {
            body: err.into_bytes(),
            ..received
        },
    };
    read_json(&received, Form::Http, scrub).map(|(status, value)| Reply {
        form: Form::Http,
        status,
        payload: Payload::Json(value),
    })
}

/// Whether a binary endpoint's answer is JSON (an error) or a page, rather
/// than a file: WeChat sends errors as JSON, often labelled `text/plain`.
fn is_json_like(received: &Received) -> bool {
    let ct = received.content_type.as_deref().unwrap_or("");
    if ct.starts_with("application/json") || ct.starts_with("text/html") {
        return true;
    }
    let first = received.body.iter().find(|b| !b.is_ascii_whitespace());
    first == Some(&b'{') && serde_json::from_slice::<Value>(&received.body).is_ok()
}
