//! The two wire forms of every request and answer, and the errors of parsing them.
//!
//! Every generated type implements [`Wire`]: it writes itself in either [`Form`]
//! (HTTP snake_case or cloud-call camelCase) through serde, and reads itself back
//! from JSON text (streaming, [`Wire::from_json`]) or a [`serde_json::Value`],
//! reporting the first problem with the path of the field at fault
//! (`link.thumb_url: missing`).
//!
//! One concern a file: the [`Wire`] trait and the writing side ([`Wired`],
//! [`Joined`]) here; the parse state ([`Cx`]) in `cx`; the errors in
//! `error`; the strict JSON reader ([`parse_json`]) in `parse`; the streaming
//! readers' seeds in `read`; conversion between the forms in `convert`; and
//! the wire forms of strings, numbers, lists, maps and files in `primitives`.
//! [`Form`] itself is the crate's `form` module, which depends on nothing.

mod convert;
mod cx;
mod error;
mod parse;
mod primitives;
mod read;

use serde::Serialize;
use serde::ser::Serializer;
use serde_json::Value;

use crate::media::MediaFile;

pub use crate::form::Form;
pub use convert::{convert, convert_answer, convert_untyped_answer};
pub use cx::Cx;
pub(crate) use error::json_type;
pub use error::{Hint, WireError, WireErrorKind};
pub use parse::parse_json;
pub use read::{
    BufferSeed, Field, FieldSeed, JoinedSeed, Key, MapSeed, Nullable, Seed, Skip, Slots,
    answer_from_text, buffer_value, mismatch,
};
pub(crate) use read::{SkipObject, read_text};

/// A type with a wire form: every request, payload, answer and string enum.
///
/// The two required methods are implemented by generated code; use the
/// provided ones.
pub trait Wire: Sized {
    /// Writes `self` in `form` to a serde serializer.
    #[doc(hidden)]
    fn write_wire<S: Serializer>(&self, form: Form, serializer: S) -> Result<S::Ok, S::Error>;

    /// Reads `Self` from a JSON value in the form and strictness of `cx`.
    #[doc(hidden)]
    fn read_wire(value: &Value, cx: &mut Cx) -> Result<Self, WireError>;

    /// The JSON text of `self` in `form`.
    fn to_json(&self, form: Form) -> String {
        // Wire types write only strings, integers, booleans and objects with
        // string keys: serde_json cannot fail on them.
        serde_json::to_string(&Wired(form, self)).expect("wire types always serialize")
    }

    /// The JSON bytes of `self` in `form`.
    fn to_json_vec(&self, form: Form) -> Vec<u8> {
        serde_json::to_vec(&Wired(form, self)).expect("wire types always serialize")
    }

    /// Writes the JSON of `self` in `form` to `writer`, streaming, with no
    /// intermediate string or value.
    fn to_writer<W: std::io::Write>(&self, form: Form, writer: W) -> std::io::Result<()> {
        serde_json::to_writer(writer, &Wired(form, self)).map_err(std::io::Error::from)
    }

    /// `self` paired with `form`: a [`Serialize`] value, to hand `self` to
    /// any serde serializer in that form (a `Vec` of messages, a JSON Lines
    /// writer, another format).
    fn in_form(&self, form: Form) -> Wired<'_, Self> {
        Wired(form, self)
    }

    /// `self` in `form` as a JSON value.
    fn to_value(&self, form: Form) -> Value {
        serde_json::to_value(Wired(form, self)).expect("wire types always serialize")
    }

    /// Checks what a value's JSON shape cannot say: each template keyword's
    /// value against its type's rule (`data.thing1.value: longer than 20
    /// characters (23)`), with paths named as in `form`.
    ///
    /// Parsing ([`Wire::from_json`], [`Wire::from_value`]) already checks;
    /// [`Client::send`](crate::Client::send) calls this before a
    /// typed request leaves, so an invalid one is not sent. Call it to learn
    /// earlier about a value built in code.
    fn validate(&self, form: Form) -> Result<(), WireError> {
        self.check_wire(&mut Cx::new(form, true))
    }

    /// The checks of [`Wire::validate`], at the path of `cx`. Generated for
    /// the types that hold template keywords (and those that contain them).
    #[doc(hidden)]
    fn check_wire(&self, cx: &mut Cx) -> Result<(), WireError> {
        let _ = cx;
        Ok(())
    }

    /// The file of the top-level field whose HTTP key is `key`, when it is
    /// a file field that is present: a request's multipart part is written
    /// from it as bytes. Generated for the types with file fields.
    #[doc(hidden)]
    fn media(&self, key: &str) -> Option<&MediaFile> {
        let _ = key;
        None
    }

    /// Reads `Self` straight from a serde deserializer, with no
    /// intermediate [`Value`]: the fast path of [`Wire::from_json`].
    ///
    /// It accepts exactly what [`Wire::read_wire`] accepts, but its errors
    /// say nothing useful (no path, no kind): on any error `from_json`
    /// reads the text again through [`Wire::read_wire`], which names the
    /// field at fault. The default reads a [`Value`] and hands it to
    /// `read_wire`; generated types, strings, numbers, booleans, lists and
    /// maps stream.
    #[doc(hidden)]
    fn read_from<'de, D: serde::Deserializer<'de>>(de: D, cx: &mut Cx) -> Result<Self, D::Error> {
        let value = buffer_value(de)?;
        Self::read_wire(&value, cx).map_err(|_| mismatch())
    }

    /// Parses JSON text in `form`, rejecting unknown and duplicate fields.
    ///
    /// The text is read once, streaming, into `Self` (keys in any order, a
    /// union's payload before or after its tag). Only when that fails, or
    /// the text holds what the streaming reader leaves to `serde_json` (a
    /// float, an integer beyond 64 bits, nesting past 100 levels), is it
    /// read again through a [`Value`]: that read gives the same value, or
    /// the error with the path of the field at fault.
    fn from_json(text: &str, form: Form) -> Result<Self, WireError> {
        let mut reader = crate::json::Reader::new(text);
        let mut cx = Cx::new(form, true);
        if let Ok(read) = Self::read_from(&mut reader, &mut cx)
            && reader.end().is_ok()
        {
            return Ok(read);
        }
        let value = parse_json(text.as_bytes())?;
        Self::from_value(&value, form)
    }

    /// Parses a JSON value in `form`, rejecting unknown fields.
    fn from_value(value: &Value, form: Form) -> Result<Self, WireError> {
        Self::read_wire(value, &mut Cx::new(form, true))
    }
}

/// A wire value paired with the form to write it in; implements [`Serialize`].
/// Made by [`Wire::in_form`].
///
/// ```
/// use wechat_msg::{CustomerServiceMessage, Form, Text, Wire};
///
/// let message = CustomerServiceMessage::builder()
///     .touser("OPENID")
///     .body(Text::builder().content("hi").build())
///     .build();
/// let batch = vec![message.in_form(Form::Cloud)];
/// assert_eq!(
///     serde_json::to_string(&batch).unwrap(),
///     r#"[{"touser":"OPENID","msgtype":"text","text":{"content":"hi"}}]"#
/// );
/// ```
#[derive(Debug)]
pub struct Wired<'a, T>(pub Form, pub &'a T);

impl<T: Wire> Serialize for Wired<'_, T> {
    #[inline]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.1.write_wire(self.0, serializer)
    }
}

/// A list written as one string, its items joined by a separator
/// (`"2,616"`): a spec field with `join`. Both JSON forms hold the joined
/// string; over HTTP it travels in the query as written. An item that
/// contains the separator cannot be joined and is an error of the
/// serializer.
#[derive(Debug)]
pub struct Joined<'a, T>(pub &'static str, pub Form, pub &'a [T]);

impl<T: Wire> Serialize for Joined<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Joined(separator, form, items) = *self;
        let mut joined = String::new();
        for (i, item) in items.iter().enumerate() {
            let text = match serde_json::to_value(Wired(form, item)) {
                Ok(Value::String(text)) => text,
                Ok(other) => other.to_string(),
                Err(e) => return Err(serde::ser::Error::custom(e)),
            };
            if text.contains(separator) {
                return Err(serde::ser::Error::custom(format_args!(
                    "item {i} ({text:?}) contains the separator {separator:?} it is joined with"
                )));
            }
            if i > 0 {
                joined.push_str(separator);
            }
            joined.push_str(&text);
        }
        serializer.serialize_str(&joined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_joined_list_is_one_string_and_reads_back() {
        let ids: Vec<i64> = vec![2, 616];
        let text = serde_json::to_value(Joined(",", Form::Http, &ids)).unwrap();
        assert_eq!(text, Value::from("2,616"));
        let mut cx = Cx::new(Form::Http, true);
        let back: Vec<i64> = cx.joined_field("ids", &text, ",").unwrap();
        assert_eq!(back, ids);
        let empty: Vec<i64> = cx.joined_field("ids", &Value::from(""), ",").unwrap();
        assert!(empty.is_empty());
        // Strings that spell numbers stay strings.
        let names: Vec<String> = cx.joined_field("names", &Value::from("1;b"), ";").unwrap();
        assert_eq!(names, ["1", "b"]);
    }

    #[test]
    fn an_item_holding_the_separator_cannot_be_joined() {
        let items = vec!["a".to_owned(), "b,c".to_owned()];
        let err = serde_json::to_value(Joined(",", Form::Cloud, &items)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "item 1 (\"b,c\") contains the separator \",\" it is joined with"
        );
    }
}
