//! What happens in the emulator, as it happens: every WeChat-side call
//! (kept in a bounded log, with its request and answer), every push and
//! delivery, every user action and every change made through the control
//! API, published to the followers of `GET /_emulator/events` (server-sent
//! events, one JSON object each).
//!
//! Nothing is serialized for a follower that is not there: a call costs a
//! log entry (its bytes shared, not copied) and, without followers, nothing
//! more. Secrets are removed when a record is read, never stored twice: the
//! `access_token` and `secret` of a query string and of a JSON body.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::inspect::PushDelivery;

/// How many calls the log keeps (the oldest go first).
pub const CALLS_KEPT: usize = 20_000;
/// How many events a follower may fall behind before it is told it missed
/// some (`{"type": "lagged"}`) and should read the state again.
const FOLLOWER_BUFFER: usize = 4096;
/// How much of a request or an answer a call record shows.
const BODY_SHOWN: usize = 8192;
/// What a secret is shown as.
pub const REDACTED: &str = "***";

/// One WeChat-side call, as it came and as it was answered.
#[derive(Clone, Debug)]
pub(crate) struct CallRecord {
    /// Its position among calls, from 1.
    pub seq: u64,
    /// Its place in the order of calls and pushes (taken when it came).
    pub order: u64,
    /// The emulator's Unix time when it was answered.
    pub unix_time: u64,
    /// The HTTP method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The query string, as sent.
    pub query: String,
    /// The spec endpoint it reached, if any (cloud calls: the API named).
    pub endpoint: Option<&'static str>,
    /// The openid the call concerns (its endpoint's openid field), if any.
    pub openid: Option<String>,
    /// The request body.
    pub request: Bytes,
    /// The answer's HTTP status.
    pub status: u16,
    /// The answer body.
    pub answer: Bytes,
    /// The answer's errcode (0 for a success), when it has one.
    pub errcode: Option<i64>,
    /// Milliseconds from the request to the answer.
    pub cost_ms: u64,
}

impl CallRecord {
    /// The record as JSON, secrets removed, bodies cut to [`BODY_SHOWN`].
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "order": self.order,
            "unix_time": self.unix_time,
            "method": self.method,
            "path": self.path,
            "query": redact_query(&self.query),
            "endpoint": self.endpoint,
            "openid": self.openid,
            "request": shown_body(&self.request),
            "status": self.status,
            "answer": shown_body(&self.answer),
            "errcode": self.errcode,
            "errmsg": self.refusal(),
            "cost_ms": self.cost_ms,
        })
    }

    /// The record as the JSON text of [`CallRecord::to_json`], built
    /// without parsing a body that can be shown as it came (JSON on one
    /// line, no escapes, no secret key, within [`BODY_SHOWN`]): the event
    /// stream writes one of these per call.
    pub fn to_json_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(320 + self.request.len() + self.answer.len());
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "{{\"seq\":{},\"order\":{},\"unix_time\":{},\"method\":",
            self.seq, self.order, self.unix_time
        );
        push_json_str(&mut out, &self.method);
        out.push_str(",\"path\":");
        push_json_str(&mut out, &self.path);
        out.push_str(",\"query\":");
        push_json_str(&mut out, &redact_query(&self.query));
        out.push_str(",\"endpoint\":");
        match self.endpoint {
            Some(name) => push_json_str(&mut out, name),
            None => out.push_str("null"),
        }
        out.push_str(",\"openid\":");
        match &self.openid {
            Some(openid) => push_json_str(&mut out, openid),
            None => out.push_str("null"),
        }
        out.push_str(",\"request\":");
        push_shown_body(&mut out, &self.request);
        let _ = write!(out, ",\"status\":{},\"answer\":", self.status);
        push_shown_body(&mut out, &self.answer);
        out.push_str(",\"errcode\":");
        match self.errcode {
            Some(code) => {
                let _ = write!(out, "{code}");
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"errmsg\":");
        match self.refusal() {
            Some(errmsg) => push_json_str(&mut out, &errmsg),
            None => out.push_str("null"),
        }
        let _ = write!(out, ",\"cost_ms\":{}}}", self.cost_ms);
        out
    }

    /// The errmsg of a refusal (an errcode other than 0).
    pub fn refusal(&self) -> Option<String> {
        match self.errcode {
            Some(0) | None => None,
            Some(_) => self.errmsg(),
        }
    }

    /// The answer's errmsg, if it has one.
    pub fn errmsg(&self) -> Option<String> {
        let answer: Value = serde_json::from_slice(&self.answer).ok()?;
        Some(
            answer
                .get(wechat_msg::protocol::ERRMSG)?
                .as_str()?
                .to_owned(),
        )
    }
}

/// `query` with the values of `access_token` and `secret` replaced.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_secret_key(key) => format!("{key}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn is_secret_key(key: &str) -> bool {
    matches!(
        key,
        "access_token" | "secret" | "appsecret" | "token" | "aes_key"
    )
}

/// A body for showing: JSON with its secret keys replaced, else text, cut
/// to [`BODY_SHOWN`] bytes.
fn shown_body(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    if let Ok(mut value) = serde_json::from_slice::<Value>(bytes) {
        redact_json(&mut value);
        let text = value.to_string();
        if text.len() <= BODY_SHOWN {
            return value;
        }
        return Value::String(cut(&text));
    }
    Value::String(cut(&String::from_utf8_lossy(bytes)))
}

/// `text` as a JSON string, appended.
fn push_json_str(out: &mut String, text: &str) {
    // A str always serializes.
    let quoted = serde_json::to_string(text).unwrap_or_default();
    out.push_str(&quoted);
}

/// [`shown_body`] as JSON text, appended; a body that is already safe to
/// show (JSON on one line without escapes or secret keys, within
/// [`BODY_SHOWN`]) is checked, not rebuilt.
fn push_shown_body(out: &mut String, bytes: &[u8]) {
    let plain = !bytes.is_empty()
        && bytes.len() <= BODY_SHOWN
        && !bytes.iter().any(|b| matches!(b, b'\n' | b'\r' | b'\\'))
        && !SECRET_KEYS
            .iter()
            .any(|key| bytes.windows(key.len()).any(|w| w == key.as_bytes()));
    if plain
        && let Ok(text) = std::str::from_utf8(bytes)
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    {
        out.push_str(text.trim());
        return;
    }
    out.push_str(&shown_body(bytes).to_string());
}

/// The keys whose values are secrets, quoted as they appear in JSON.
const SECRET_KEYS: [&str; 5] = [
    "\"access_token\"",
    "\"secret\"",
    "\"appsecret\"",
    "\"token\"",
    "\"aes_key\"",
];

fn cut(text: &str) -> String {
    if text.len() <= BODY_SHOWN {
        return text.to_owned();
    }
    let mut end = BODY_SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// Replaces the value of every secret key (`access_token`, `secret`, ...)
/// anywhere in `value`.
pub fn redact_json(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if is_secret_key(key) {
                    *inner = Value::String(REDACTED.to_owned());
                } else {
                    redact_json(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// The event bus and the call log.
#[derive(Debug)]
pub(crate) struct Events {
    sender: broadcast::Sender<String>,
    seq: AtomicU64,
    order: AtomicU64,
    call_seq: AtomicU64,
    calls: Mutex<VecDeque<CallRecord>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            sender: broadcast::channel(FOLLOWER_BUFFER).0,
            seq: AtomicU64::new(0),
            order: AtomicU64::new(0),
            call_seq: AtomicU64::new(0),
            calls: Mutex::new(VecDeque::new()),
        }
    }
}

impl Events {
    /// A new follower of every event from now on.
    pub fn follow(&self) -> broadcast::Receiver<String> {
        self.sender.subscribe()
    }

    /// Whether anyone follows.
    pub fn followed(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Publishes `{"seq", "type": kind, "<kind>": <text>}`, `text` being
    /// JSON, when anyone follows.
    fn publish_text(&self, kind: &str, text: impl FnOnce() -> String) {
        if !self.followed() {
            return;
        }
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let event = format!(
            "{{\"seq\":{seq},\"type\":\"{kind}\",\"{kind}\":{}}}",
            text()
        );
        let _ = self.sender.send(event);
    }

    /// Publishes `{"seq", "type": kind, ...fields}` when anyone follows.
    pub fn publish(&self, kind: &str, fields: impl FnOnce() -> Map<String, Value>) {
        if !self.followed() {
            return;
        }
        let mut event = Map::new();
        event.insert(
            "seq".into(),
            (self.seq.fetch_add(1, Ordering::Relaxed) + 1).into(),
        );
        event.insert("type".into(), kind.into());
        event.extend(fields());
        let _ = self.sender.send(Value::Object(event).to_string());
    }

    /// The next place in the order of calls and pushes, which a user's
    /// timeline follows.
    pub fn tick(&self) -> u64 {
        self.order.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The next call's number.
    pub fn next_call(&self) -> u64 {
        self.call_seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Logs a call and publishes it.
    pub fn call(&self, record: CallRecord) {
        self.publish_text("call", || record.to_json_text());
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        if calls.len() == CALLS_KEPT {
            calls.pop_front();
        }
        calls.push_back(record);
    }

    /// Publishes a push as it now stands (`type`: `push` when recorded,
    /// `attempt` after each delivery attempt, `delivery` when its delivery
    /// ended).
    pub fn push(&self, kind: &str, order: u64, push: &PushDelivery) {
        self.publish(kind, || {
            let mut fields = Map::new();
            fields.insert("order".into(), order.into());
            fields.insert(
                "push".into(),
                serde_json::to_value(push).unwrap_or_default(),
            );
            fields
        });
    }

    /// The logged calls, newest last: those before call `before` (all when
    /// none), concerning `openid` when given, at most `limit`.
    pub fn calls(&self, openid: Option<&str>, before: Option<u64>, limit: usize) -> Vec<Value> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<Value> = calls
            .iter()
            .rev()
            .filter(|c| before.is_none_or(|b| c.seq < b))
            .filter(|c| openid.is_none_or(|o| c.openid.as_deref() == Some(o)))
            .take(limit)
            .map(CallRecord::to_json)
            .collect();
        out.reverse();
        out
    }

    /// The newest `limit` logged calls concerning `openid` placed before
    /// `before` (all when none), oldest first, with their order; only those
    /// are written out.
    pub fn calls_of(&self, openid: &str, before: Option<u64>, limit: usize) -> Vec<(u64, Value)> {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<(u64, Value)> = calls
            .iter()
            .rev()
            .filter(|c| c.openid.as_deref() == Some(openid))
            .filter(|c| before.is_none_or(|b| c.order < b))
            .take(limit)
            .map(|c| (c.order, c.to_json()))
            .collect();
        out.reverse();
        out
    }

    /// Forgets every logged call.
    pub fn clear_calls(&self) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_in_queries_and_bodies() {
        assert_eq!(
            redact_query("grant_type=client_credential&appid=A&secret=S"),
            "grant_type=client_credential&appid=A&secret=***"
        );
        assert_eq!(redact_query("access_token=T"), "access_token=***");
        let mut body = json!({"access_token": "T", "expires_in": 7200, "x": [{"secret": "S"}]});
        redact_json(&mut body);
        assert_eq!(
            body,
            json!({"access_token": "***", "expires_in": 7200, "x": [{"secret": "***"}]})
        );
    }

    #[test]
    fn the_text_of_a_record_is_its_json_with_secrets_removed() {
        let record = |request: &'static [u8], answer: &'static [u8], errcode| CallRecord {
            seq: 3,
            order: 9,
            unix_time: 1,
            method: "POST".into(),
            path: "/cgi-bin/stable_token".into(),
            query: "access_token=T&x=\"".into(),
            endpoint: Some("customerServiceMessage.send"),
            openid: Some("O\u{202e}".into()),
            request: Bytes::from_static(request),
            status: 200,
            answer: Bytes::from_static(answer),
            errcode,
            cost_ms: 2,
        };
        for r in [
            record(b"{\"a\": 1}", b"{\"errcode\":0,\"errmsg\":\"ok\"}", Some(0)),
            record(
                b"{\"appid\":\"A\",\"secret\":\"S\"}",
                b"{\"access_token\":\"T\",\"expires_in\":7200}",
                Some(0),
            ),
            record(
                b"{\"x\":\"\\u0073\"}",
                b"{\"errcode\":45015,\"errmsg\":\"no\"}",
                Some(45015),
            ),
            record(b"{\n\"a\":1}", b"not json", None),
            record(b"", b"", None),
        ] {
            let text = r.to_json_text();
            assert!(!text.contains('\n'), "{text}");
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, r.to_json(), "{text}");
            assert!(!text.contains("\"T\"") && !text.contains("\"S\""), "{text}");
        }
    }

    #[test]
    fn nothing_is_built_without_a_follower_and_the_log_is_bounded() {
        let events = Events::default();
        events.publish("state", || unreachable!("nobody follows"));
        let mut follower = events.follow();
        events.publish("state", || {
            let mut m = Map::new();
            m.insert("what".into(), "faults".into());
            m
        });
        let event: Value = serde_json::from_str(&follower.try_recv().unwrap()).unwrap();
        assert_eq!(event["type"], "state");
        assert_eq!(event["what"], "faults");
        drop(follower);
        for _ in 0..CALLS_KEPT + 5 {
            events.call(CallRecord {
                seq: events.next_call(),
                order: events.tick(),
                unix_time: 0,
                method: "POST".into(),
                path: "/x".into(),
                query: String::new(),
                endpoint: None,
                openid: None,
                request: Bytes::new(),
                status: 200,
                answer: Bytes::from_static(b"{\"errcode\":0}"),
                errcode: Some(0),
                cost_ms: 0,
            });
        }
        let all = events.calls(None, None, usize::MAX);
        assert_eq!(all.len(), CALLS_KEPT);
        assert_eq!(all[0]["seq"], 6);
        let page = events.calls(None, Some(100), 10);
        assert_eq!(page.len(), 10);
        assert_eq!(page[9]["seq"], 99);
    }
}
