//! Everything the command prints passes through here.
//!
//! Text from outside (WeChat's errmsg and answers, the keys of an input body,
//! file names, the API name typed) may hold terminal escapes, a newline that
//! would forge an `error:` line, or bidi overrides that reorder what is shown.
//! [`escape`] turns every such character into a visible `\u{..}`;
//! [`Foreign`] also bounds the text, so a 10 MB errmsg prints as 1 KiB and a
//! note of what was cut. JSON goes out through [`write_json`], which escapes
//! the same characters the JSON way (`\u202e`), so the printed text stays the
//! same JSON value. [`Redactions`] removes the secrets the command holds from
//! what it prints.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// Foreign text longer than this (in bytes) is cut.
pub const FOREIGN_LIMIT: usize = 1024;

/// Whether `c` must not reach a terminal as is: C0 and C1 controls, DEL,
/// the line and paragraph separators, and the bidi marks, embeddings,
/// overrides and isolates.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every unsafe character written as `\u{..}`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text from outside, shown escaped and cut to [`FOREIGN_LIMIT`] bytes.
#[derive(Debug, Clone, Copy)]
pub struct Foreign<'a>(pub &'a str);

impl fmt::Display for Foreign<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kept, cut) = bound(self.0, FOREIGN_LIMIT);
        f.write_str(&escape(kept))?;
        if cut > 0 {
            write!(f, " [{cut} more bytes cut]")?;
        }
        Ok(())
    }
}

/// The first at most `limit` bytes of `text` (on a character boundary) and
/// the number of bytes left out.
fn bound(text: &str, limit: usize) -> (&str, usize) {
    if text.len() <= limit {
        return (text, 0);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], text.len() - end)
}

/// A failure's lines on standard error: `error: ` and the first line, the
/// others indented. Every line is escaped, so no text can start a line of
/// its own.
pub fn print_failure(lines: &[String]) {
    let mut err = io::stderr().lock();
    for (i, line) in lines.iter().enumerate() {
        let prefix = if i == 0 { "error: " } else { "  " };
        let _ = writeln!(err, "{prefix}{}", escape(line));
    }
}

/// Secrets the command holds, never to be printed.
#[derive(Debug, Default, Clone)]
pub struct Redactions {
    secrets: Vec<String>,
}

/// What a secret is printed as.
pub const REDACTED: &str = "***";

impl Redactions {
    /// Adds a secret (empty ones are ignored).
    pub fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_owned());
        }
    }

    /// `text` with every secret replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// `value` with every secret replaced in its strings and keys, and the
    /// value of every `access_token` key replaced whatever it is.
    pub fn json(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                if self
                    .secrets
                    .iter()
                    .any(|secret| s.contains(secret.as_str()))
                {
                    *s = self.text(s);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.json(v)),
            Value::Object(map) => {
                let leaks = map.keys().any(|k| self.text(k) != *k);
                if leaks {
                    let entries = std::mem::take(map);
                    for (k, v) in entries {
                        map.insert(self.text(&k), v);
                    }
                }
                for (key, child) in map.iter_mut() {
                    if is_token_key(key) {
                        *child = Value::String(REDACTED.to_owned());
                    } else {
                        self.json(child);
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// A query string (`access_token=T&x=1`) with the values of its
/// `access_token`, `secret` and `appsecret` replaced by [`REDACTED`]:
/// WeChat's rid records show the query a call was made with.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if matches!(key, "access_token" | "secret" | "appsecret") => {
                format!("{key}={REDACTED}")
            }
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `access_token` in either wire form.
fn is_token_key(key: &str) -> bool {
    matches!(key, "access_token" | "accessToken")
}

/// Writes `value` as pretty JSON and a newline to standard output, streamed
/// through a buffer, with unsafe characters escaped the JSON way.
pub fn write_json<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let mut ser = serde_json::Serializer::with_formatter(&mut out, SafeFormatter::default());
    value.serialize(&mut ser).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes `text` as it is to standard output. The caller has escaped every
/// unsafe character in it.
pub fn write_text(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes `value` as one line of compact JSON to standard output, with
/// unsafe characters escaped the JSON way (`listen`'s pushes).
pub fn write_json_line<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut line = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut line, SafeLineFormatter::default());
    value.serialize(&mut ser).map_err(io::Error::from)?;
    line.push(b'\n');
    let mut out = io::stdout().lock();
    out.write_all(&line)?;
    out.flush()
}

/// A string fragment with every unsafe character written as `\uXXXX`.
fn write_safe_fragment<W: ?Sized + Write>(writer: &mut W, fragment: &str) -> io::Result<()> {
    let mut start = 0;
    for (i, c) in fragment.char_indices() {
        if is_unsafe(c) {
            writer.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            start = i + c.len_utf8();
        }
    }
    writer.write_all(&fragment.as_bytes()[start..])
}

/// A serde_json formatter (compact or pretty) that writes unsafe
/// characters in strings as `\uXXXX` (serde_json escapes only C0
/// controls, `"` and `\`).
#[derive(Default)]
struct Safe<F>(F);

/// The compact form, escaped: one line.
type SafeLineFormatter = Safe<CompactFormatter>;

/// The pretty form, escaped.
type SafeFormatter = Safe<PrettyFormatter<'static>>;

/// Methods of [`Formatter`] that hand their call to the wrapped
/// formatter: those that take only the writer, then those that also take
/// `first`.
macro_rules! delegate {
    ($($name:ident),*; $($first:ident),*) => {
        $(
            fn $name<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
                self.0.$name(writer)
            }
        )*
        $(
            fn $first<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
                self.0.$first(writer, first)
            }
        )*
    };
}

impl<F: Formatter> Formatter for Safe<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        write_safe_fragment(writer, fragment)
    }

    // The layout is the wrapped formatter's: every method that writes it.
    delegate!(
        begin_array, end_array, end_array_value, begin_object, end_object,
        begin_object_value, end_object_value;
        begin_array_value, begin_object_key
    );
}

/// Standard error for log lines: each event escaped (its final newline
/// kept) and cut like foreign text, at four times the limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, newline) = match text.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (text.as_ref(), ""),
        };
        let (kept, cut) = bound(body, 4 * FOREIGN_LIMIT);
        let mut err = io::stderr().lock();
        err.write_all(escape(kept).as_bytes())?;
        if cut > 0 {
            write!(err, " [{cut} more bytes cut]")?;
        }
        err.write_all(newline.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped() {
        assert_eq!(
            escape("a\u{1b}[31mb\nerror: x\r\u{9b}\u{202e}c"),
            "a\\u{1b}[31mb\\u{a}error: x\\u{d}\\u{9b}\\u{202e}c"
        );
        assert!(matches!(escape("plain 中文"), Cow::Borrowed(_)));
    }

    #[test]
    fn foreign_text_is_cut_on_a_char_boundary() {
        let long = "é".repeat(1000);
        let shown = Foreign(&long).to_string();
        assert!(shown.starts_with(&"é".repeat(512)));
        assert!(shown.ends_with(" [976 more bytes cut]"), "{shown}");
        assert_eq!(Foreign("short").to_string(), "short");
    }

    #[test]
    fn json_keeps_its_value_with_unsafe_characters_escaped() {
        let value = serde_json::json!({"k\u{202e}": "a\u{85}b\u{1b}c😀"});
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, SafeFormatter::default());
        value.serialize(&mut ser).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.chars().any(|c| c != '\n' && is_unsafe(c)), "{text:?}");
        assert!(
            text.contains("\\u202e") && text.contains("\\u0085"),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
    }

    #[test]
    fn redactions_cover_strings_keys_and_token_fields() {
        let mut r = Redactions::default();
        r.add("SECRET");
        r.add("");
        let mut value = serde_json::json!({
            "echo": "x SECRET y",
            "SECRET": 1,
            "access_token": "anything",
            "nested": [{"accessToken": {"deep": 1}}],
        });
        r.json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "echo": "x *** y",
                "***": 1,
                "access_token": "***",
                "nested": [{"accessToken": "***"}],
            })
        );
    }
}
