//! The bottom layer: the secrets a client holds (the access_token and the
//! AppSecret), in types that never show them, and [`Scrub`], which takes
//! them out of any text or JSON a server sends back.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// An access_token. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    /// Wraps a token string.
    pub fn new(token: impl Into<String>) -> Self {
        AccessToken(Arc::from(token.into()))
    }

    /// The token itself, to put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(***)")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A Mini Program's AppSecret. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AppSecret(Arc<str>);

impl AppSecret {
    /// Wraps a secret string.
    pub fn new(secret: impl Into<String>) -> Self {
        AppSecret(Arc::from(secret.into()))
    }

    /// The secret itself, to put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppSecret(***)")
    }
}

impl fmt::Display for AppSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What must never appear in an error, a log line or an answer handed to
/// the caller: the access_token of the call, the app secret, and, for a
/// token answer, the body itself.
#[derive(Clone, Copy, Default)]
pub(crate) struct Scrub<'a> {
    pub(crate) token: Option<&'a str>,
    pub(crate) secret: Option<&'a str>,
    /// Every byte of the body may be a secret (a token answer, until its
    /// fields are read): errors say what is wrong and how long the body
    /// is, never what it holds.
    pub(crate) withhold_body: bool,
}

impl fmt::Debug for Scrub<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrub")
            .field("token", &self.token.map(|_| "***"))
            .field("secret", &self.secret.map(|_| "***"))
            .field("withhold_body", &self.withhold_body)
            .finish()
    }
}

impl<'a> Scrub<'a> {
    /// The same, also scrubbing `token` (a token an answer just handed out).
    pub(crate) fn and_token(self, token: Option<&'a str>) -> Self {
        Scrub {
            token: token.or(self.token),
            ..self
        }
    }

    /// Whether `text` (JSON) can be read as it is: it holds no secret and
    /// no escape (`\u0041` could spell one that the raw text does not show).
    pub(crate) fn is_clean(&self, text: &str) -> bool {
        !self.withhold_body
            && !text.contains('\\')
            && !self.secrets().any(|secret| text.contains(secret))
    }

    /// `text` with each secret replaced by `***`.
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in self.secrets() {
            if out.contains(secret) {
                out = out.replace(secret, "***");
            }
        }
        out
    }

    /// `value` with each secret replaced by `***` in every string and key.
    pub(crate) fn apply_json(&self, value: Value) -> Value {
        if self.secrets().next().is_none() {
            return value;
        }
        match value {
            Value::String(text) => Value::String(self.apply_owned(text)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.apply_json(v)).collect())
            }
            Value::Object(object) => Value::Object(
                object
                    .into_iter()
                    .map(|(k, v)| (self.apply_owned(k), self.apply_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// `text`, the end of a body cut short, without a secret's beginning
    /// at its end (the rest of that secret was cut off, so [`apply`](Self::apply)
    /// cannot recognise it).
    pub(crate) fn strip_cut_secret<'t>(&self, text: &'t str) -> &'t str {
        let mut end = text.len();
        for secret in self.secrets() {
            let longest = (secret.len() - 1).min(end);
            let cut = (1..=longest)
                .rev()
                .find(|&n| secret.is_char_boundary(n) && text[..end].ends_with(&secret[..n]));
            if let Some(n) = cut {
                end -= n;
            }
        }
        &text[..end]
    }

    fn apply_owned(&self, text: String) -> String {
        if self.secrets().any(|s| text.contains(s)) {
            self.apply(&text)
        } else {
            text
        }
    }

    fn secrets(&self) -> impl Iterator<Item = &'a str> {
        [self.token, self.secret]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
    }
}
