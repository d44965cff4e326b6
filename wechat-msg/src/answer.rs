//! Reading WeChat's answers: `{errcode, errmsg}` over HTTP and
//! `{errCode, errMsg}` from a cloud call, into `Ok` or the endpoint's errcode.

use std::fmt;

use serde_json::Value;

use crate::endpoint::{Answer, Endpoint, Errcode};
use crate::wire::{Form, WireError};

/// WeChat refused a call: its errcode (as the endpoint's enum), errmsg and
/// the request id it quoted, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection<C> {
    /// The endpoint's errcode.
    pub errcode: C,
    /// WeChat's errmsg, as given.
    pub errmsg: String,
    /// The `rid` WeChat appends to errmsg, for its support.
    pub rid: Option<String>,
}

impl<C: Errcode> fmt::Display for Rejection<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "errcode {} ({}): {}",
            self.errcode.code(),
            self.errcode,
            self.errmsg
        )
    }
}

/// An answer that is not what WeChat's answers look like.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MalformedAnswer {
    /// The body is not JSON (an HTML page, an empty or truncated body).
    NotJson,
    /// JSON, but not an object.
    NotObject,
    /// The errcode field is not an integer (a string, say).
    ErrcodeNotInteger,
    /// A success whose fields do not match the spec.
    Fields(WireError),
}

impl fmt::Display for MalformedAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MalformedAnswer::NotJson => f.write_str("the answer is not JSON"),
            MalformedAnswer::NotObject => f.write_str("the answer is not a JSON object"),
            MalformedAnswer::ErrcodeNotInteger => {
                f.write_str("the answer's errcode is not an integer")
            }
            MalformedAnswer::Fields(err) => write!(f, "the answer does not match the spec: {err}"),
        }
    }
}

impl std::error::Error for MalformedAnswer {}

/// The errcode and errmsg keys of an answer in `form`.
pub fn status_keys(form: Form) -> (&'static str, &'static str) {
    match form {
        Form::Http => ("errcode", "errmsg"),
        Form::Cloud => ("errCode", "errMsg"),
    }
}

/// Parses a JSON answer body of endpoint `E` in `form`: `Ok(Ok(answer))` on
/// errcode 0 (or none), `Ok(Err(rejection))` on another errcode.
pub fn read_answer<E: Endpoint>(
    body: &[u8],
    form: Form,
) -> Result<Result<E::Answer, Rejection<E::Errcode>>, MalformedAnswer> {
    let value: Value = serde_json::from_slice(body).map_err(|_| MalformedAnswer::NotJson)?;
    read_answer_value::<E>(&value, form)
}

/// [`read_answer`] on a parsed value.
pub fn read_answer_value<E: Endpoint>(
    value: &Value,
    form: Form,
) -> Result<Result<E::Answer, Rejection<E::Errcode>>, MalformedAnswer> {
    match read_status(value, form)? {
        Some((code, errmsg)) => Ok(Err(Rejection {
            errcode: E::Errcode::from_code(code, &errmsg),
            rid: rid_of(&errmsg),
            errmsg,
        })),
        None => E::Answer::from_json(value, form)
            .map(Ok)
            .map_err(MalformedAnswer::Fields),
    }
}

/// The errcode and errmsg of an answer, `None` when it is a success.
pub fn read_status(value: &Value, form: Form) -> Result<Option<(i64, String)>, MalformedAnswer> {
    let object = value.as_object().ok_or(MalformedAnswer::NotObject)?;
    let (code_key, msg_key) = status_keys(form);
    let code = match object.get(code_key) {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_i64().ok_or(MalformedAnswer::ErrcodeNotInteger)?,
        Some(_) => return Err(MalformedAnswer::ErrcodeNotInteger),
    };
    if code == 0 {
        return Ok(None);
    }
    let errmsg = object
        .get(msg_key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    Ok(Some((code, errmsg)))
}

/// The request id WeChat appends to errmsg (`... rid: 6527c1f2-...`).
pub fn rid_of(errmsg: &str) -> Option<String> {
    let (_, rest) = errmsg.rsplit_once("rid:")?;
    let rid: String = rest
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (!rid.is_empty()).then_some(rid)
}
