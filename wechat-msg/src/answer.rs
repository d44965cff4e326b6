//! Reading WeChat's answers: `{errcode, errmsg}` over HTTP and
//! `{errCode, errMsg}` from a cloud call, into `Ok` or the endpoint's errcode.
//!
//! An answer is foreign text: errmsgs are kept to a bounded length and
//! shown with control characters escaped, so a hostile answer can neither
//! flood a log nor forge a line or a terminal escape sequence.

use std::fmt::{self, Write as _};

use serde_json::Value;

use crate::endpoint::{Answer, Endpoint, Errcode};
use crate::protocol::status_keys;
use crate::wire::{Form, WireError, WireErrorKind};

/// WeChat refused a call: its errcode (as the endpoint's enum), errmsg and
/// the request id it quoted, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection<C> {
    /// The endpoint's errcode.
    pub errcode: C,
    /// WeChat's errmsg, as given up to [`ERRMSG_KEPT`] bytes (a longer one
    /// is cut and ends with a note of how many bytes were cut).
    pub errmsg: String,
    /// The `rid` WeChat appends to errmsg, for its support.
    pub rid: Option<String>,
}

/// How many bytes of an errmsg are kept; WeChat's are a line long.
pub const ERRMSG_KEPT: usize = 1024;

/// The errcode enum of `code`. An unlisted code keeps the errmsg with its
/// control characters escaped: the enum is shown on its own, and its text
/// must stay one line.
pub(crate) fn errcode_of<C: Errcode>(code: i64, errmsg: &str) -> C {
    C::from_code(code, &Escaped(errmsg).to_string())
}

impl<C: Errcode> Rejection<C> {
    /// The rejection of `code` with `errmsg`: the errmsg bounded to
    /// [`ERRMSG_KEPT`] bytes, the rid read from the whole errmsg.
    pub(crate) fn new(code: i64, errmsg: &str) -> Self {
        let rid = rid_of(errmsg);
        let errmsg = bounded(errmsg, ERRMSG_KEPT);
        Rejection {
            errcode: errcode_of(code, &errmsg),
            errmsg,
            rid,
        }
    }
}

impl<C: Errcode> fmt::Display for Rejection<C> {
    /// `InvalidOpenid (40003): <description> (errmsg: "...")`, the errmsg
    /// quoted with its control characters escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errcode.info() {
            Some(info) => write!(f, "{} ({}): {}", info.name, info.code, info.description)?,
            None => write!(f, "unknown errcode {}", self.errcode.code())?,
        }
        write!(f, " (errmsg: {:?})", self.errmsg)
    }
}

impl<C: Errcode> std::error::Error for Rejection<C> {}

/// An answer that is not what WeChat's answers look like.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedAnswer {
    /// The body is not JSON (an HTML page, an empty or truncated body).
    #[error("the answer is not JSON")]
    NotJson,
    /// JSON, but not an object.
    #[error("the answer is not a JSON object")]
    NotObject,
    /// The errcode field is not an integer (a string, say).
    #[error("the answer's errcode is not an integer")]
    ErrcodeNotInteger,
    /// A success whose fields do not match the spec.
    #[error("the answer does not match the spec: {0}")]
    Fields(#[source] WireError),
    /// A success whose text is not UTF-8. (A refusal whose errmsg is not
    /// UTF-8 is still read as a refusal, the errmsg decoded lossily.)
    #[error("the answer is not UTF-8")]
    NotUtf8,
}

/// Parses a JSON answer body of endpoint `E` in `form`: `Ok(Ok(answer))` on
/// errcode 0 (or none), `Ok(Err(rejection))` on another errcode.
///
/// This is what the client does with an answer; use it on answers that
/// reached you another way (a relay of your own, a recorded answer).
///
/// ```
/// use wechat_msg::meta::read_answer;
/// use wechat_msg::{CustomerServiceMessage, CustomerServiceMessageSendErrcode, Form};
///
/// let body = br#"{"errcode":45015,"errmsg":"response out of time limit rid: 6527-c1f2"}"#;
/// let rejection = read_answer::<CustomerServiceMessage>(body, Form::Http)
///     .expect("a WeChat answer")
///     .expect_err("a refusal");
/// assert_eq!(rejection.errcode, CustomerServiceMessageSendErrcode::ReplyWindowClosed);
/// assert_eq!(rejection.rid.as_deref(), Some("6527-c1f2"));
///
/// let ok = read_answer::<CustomerServiceMessage>(br#"{"errcode":0,"errmsg":"ok"}"#, Form::Http);
/// assert!(matches!(ok, Ok(Ok(_))));
/// ```
pub fn read_answer<E: Endpoint>(
    body: &[u8],
    form: Form,
) -> Result<Result<E::Answer, Rejection<E::Errcode>>, MalformedAnswer> {
    let parsed = parse(body)?;
    match read_status(&parsed.value, form)? {
        Some(refusal) => Ok(Err(Rejection::new(refusal.code, &refusal.errmsg))),
        None if parsed.lossy => Err(MalformedAnswer::NotUtf8),
        None => E::Answer::from_json(&parsed.value, form)
            .map(Ok)
            .map_err(MalformedAnswer::Fields),
    }
}

/// A parsed answer body.
pub(crate) struct Parsed {
    pub(crate) value: Value,
    /// The body was not UTF-8 and was decoded lossily: good enough to read
    /// a refusal, never a success.
    pub(crate) lossy: bool,
}

/// Parses an answer body as JSON; a body that is JSON once its invalid
/// UTF-8 is replaced (an errmsg in another encoding) is read lossily.
/// A key given twice (`{"errcode":0,"errcode":40001}`) makes the answer
/// malformed: which of the two WeChat meant cannot be known.
pub(crate) fn parse(body: &[u8]) -> Result<Parsed, MalformedAnswer> {
    let strict = |bytes: &[u8]| match crate::wire::parse_json(bytes) {
        Ok(value) => Ok(value),
        Err(err) if matches!(err.kind(), WireErrorKind::Duplicate) => {
            Err(MalformedAnswer::Fields(err))
        }
        Err(_) => Err(MalformedAnswer::NotJson),
    };
    match strict(body) {
        Ok(value) => Ok(Parsed {
            value,
            lossy: false,
        }),
        Err(MalformedAnswer::NotJson) if std::str::from_utf8(body).is_err() => {
            strict(String::from_utf8_lossy(body).as_bytes())
                .map(|value| Parsed { value, lossy: true })
        }
        Err(err) => Err(err),
    }
}

/// The errcode and the whole errmsg of a refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: i64,
    pub(crate) errmsg: String,
}

/// The refusal an answer holds, `None` when it is a success.
pub(crate) fn read_status(value: &Value, form: Form) -> Result<Option<Refusal>, MalformedAnswer> {
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
    Ok(Some(Refusal { code, errmsg }))
}

/// Whether `text` is a successful answer in `form` that can be read
/// straight from its text: one JSON object, its errcode `0`, `null` or
/// absent, and no key given twice at any depth. Anything else (a refusal,
/// an answer [`parse`] or [`read_status`] would call malformed) is `false`,
/// to be read by those, which say what it is.
pub(crate) fn is_success_text(text: &str, form: Form) -> bool {
    use serde::de::DeserializeSeed as _;
    let (code_key, _) = status_keys(form);
    let mut reader = crate::json::Reader::new(text);
    SuccessSeed(code_key)
        .deserialize(&mut reader)
        .unwrap_or(false)
        && reader.end().is_ok()
}

/// Reads an answer object: whether its errcode key (`.0`) holds 0 or null
/// or is absent, its keys distinct at every depth.
struct SuccessSeed(&'static str);

impl<'de> serde::de::DeserializeSeed<'de> for SuccessSeed {
    type Value = bool;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SuccessSeed {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an answer object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        // The keys seen so far: the first few in place (an answer has a
        // handful), any more in a list.
        const IN_PLACE: usize = 8;
        let mut first: [Option<crate::wire::Key<'de>>; IN_PLACE] = Default::default();
        let mut more: Vec<crate::wire::Key<'de>> = Vec::new();
        let mut count = 0;
        let mut success = true;
        while let Some(key) = map.next_key::<crate::wire::Key<'de>>()? {
            let seen = |k: &crate::wire::Key<'de>| k.as_str() == key.as_str();
            if first.iter().flatten().any(seen) || more.iter().any(seen) {
                return Err(serde::de::Error::custom("duplicate key"));
            }
            let zero_or_null = map.next_value::<crate::wire::Skip>()?.0;
            if key.as_str() == self.0 {
                success = zero_or_null;
            }
            match first.get_mut(count) {
                Some(slot) => *slot = Some(key),
                None => more.push(key),
            }
            count += 1;
        }
        Ok(success)
    }
}

/// The request id WeChat appends to errmsg (`... rid: 6527c1f2-...`).
///
/// ```
/// assert_eq!(
///     wechat_msg::meta::rid_of("invalid openid rid: 6527c1f2-1a2b").as_deref(),
///     Some("6527c1f2-1a2b")
/// );
/// assert_eq!(wechat_msg::meta::rid_of("invalid openid"), None);
/// ```
pub fn rid_of(errmsg: &str) -> Option<String> {
    let (_, rest) = errmsg.rsplit_once("rid:")?;
    let rid: String = rest
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (!rid.is_empty()).then_some(rid)
}

/// `text` cut to at most `max` bytes (on a character boundary), with a note
/// of how many bytes were cut.
pub(crate) fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &text[..end], text.len() - end)
}

/// Whether `c` must not reach a terminal or a log raw: control characters
/// (line breaks, ESC, C1 controls) and the characters that reorder or
/// break lines on display.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// A writer that passes text through with unsafe characters escaped
/// (`\n`, `\u{1b}`).
pub(crate) struct EscapeControl<'a, W: ?Sized>(pub(crate) &'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for EscapeControl<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut start = 0;
        for (i, c) in text.char_indices().filter(|&(_, c)| is_unsafe(c)) {
            self.0.write_str(&text[start..i])?;
            write!(self.0, "{}", c.escape_default())?;
            start = i + c.len_utf8();
        }
        self.0.write_str(&text[start..])
    }
}

/// Shows `T` with unsafe characters escaped.
pub(crate) struct Escaped<T>(pub(crate) T);

impl<T: fmt::Display> fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(EscapeControl(f), "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_forge_a_line_or_drive_a_terminal() {
        let shown = Escaped("a\nerror: b\u{1b}[2J\u{9b}\u{202e}é\t").to_string();
        assert_eq!(shown, r"a\nerror: b\u{1b}[2J\u{9b}\u{202e}é\t");
    }

    #[test]
    fn bounds_on_a_character_boundary() {
        assert_eq!(bounded("short", 10), "short");
        let cut = bounded("ééééé", 3);
        assert_eq!(cut, "é… (8 bytes cut)");
    }

    #[test]
    fn a_success_is_read_from_its_text_only_when_nothing_needs_a_closer_look() {
        for text in [
            r#"{"errcode":0,"errmsg":"ok"}"#,
            r#"{"errmsg":"ok"}"#,
            r#"{"errcode":null}"#,
            r#"{"errcode":0,"a":{"b":[{"c":1},{"c":2}]}}"#,
            r#"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"errcode":0}"#,
        ] {
            assert!(is_success_text(text, Form::Http), "{text}");
            // The same text is a success by the full reader.
            let parsed = parse(text.as_bytes()).unwrap();
            assert_eq!(read_status(&parsed.value, Form::Http), Ok(None), "{text}");
        }
        for text in [
            r#"{"errcode":40003,"errmsg":"invalid openid"}"#,
            r#"{"errcode":"0"}"#,
            r#"{"errcode":0.0}"#,
            r#"{"errcode":0,"errcode":40001}"#,
            r#"{"errcode":0,"a":{"b":1,"b":2}}"#,
            r#"{"errcode":0,"a":[{"b":1,"b":2}]}"#,
            // A key repeated past the first eight, in either place.
            r#"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k9":9}"#,
            r#"{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k1":1}"#,
            r#"[{"errcode":0}]"#,
            r#"{"errcode":0} trailing"#,
            "",
        ] {
            assert!(!is_success_text(text, Form::Http), "{text}");
        }
        // The cloud form's key counts in the cloud form only.
        assert!(is_success_text(r#"{"errcode":1,"errCode":0}"#, Form::Cloud));
        assert!(!is_success_text(r#"{"errcode":1,"errCode":0}"#, Form::Http));
    }

    #[test]
    fn reads_a_refusal_whose_errmsg_is_not_utf8() {
        let parsed = parse(b"{\"errcode\":40003,\"errmsg\":\"x\xff\"}").unwrap();
        assert!(parsed.lossy);
        let refusal = read_status(&parsed.value, Form::Http).unwrap().unwrap();
        assert_eq!(refusal.errmsg, "x\u{fffd}");
    }
}
