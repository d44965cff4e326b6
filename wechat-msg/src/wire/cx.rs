//! [`Cx`], the state of a parse: the form being read, whether unknown
//! fields are errors, and the path to the value at hand, which every error
//! names.

use serde_json::{Map, Value};

use super::error::json_type;
use super::{Form, Hint, Wire, WireError, WireErrorKind};

/// One step of a path into a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Segment {
    /// A key of an object.
    Key(String),
    /// An index into an array.
    Index(usize),
}

/// The state of a parse: the form, whether unknown fields are errors, and the
/// path to the value being read. Support for generated readers, not part of
/// the public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct Cx {
    form: Form,
    strict: bool,
    pub(super) path: Vec<Segment>,
}

impl Cx {
    /// A parse at the root of a body. `strict` rejects unknown fields
    /// (requests); answers are read with `strict = false` and skip them.
    pub fn new(form: Form, strict: bool) -> Self {
        Cx {
            form,
            strict,
            path: Vec::new(),
        }
    }

    /// The form being read.
    #[inline]
    pub fn form(&self) -> Form {
        self.form
    }

    /// Whether unknown fields are errors.
    #[inline]
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// Reads the value under `key` of the current object as `T`.
    pub fn field<T: Wire>(&mut self, key: &str, value: &Value) -> Result<T, WireError> {
        self.path.push(Segment::Key(key.to_owned()));
        let read = T::read_wire(value, self);
        self.path.pop();
        read
    }

    /// Checks the value under `key` of the current object ([`Wire::check_wire`]).
    pub fn check_field<T: Wire>(&mut self, key: &str, value: &T) -> Result<(), WireError> {
        self.path.push(Segment::Key(key.to_owned()));
        let checked = value.check_wire(self);
        self.path.pop();
        checked
    }

    /// An error at `keys` under the current path (`data`, `thing1`, `value`).
    pub fn error_under(&self, keys: &[&str], kind: WireErrorKind) -> WireError {
        let mut path = self.render_path(None);
        for key in keys {
            push_key(&mut path, key);
        }
        WireError { path, kind }
    }

    /// Reads the value under `key` as a list joined by `separator` into one
    /// string (`"2,616"`, see [`Joined`]). Each item is read as a string
    /// first, then as the number or boolean its text spells; the empty
    /// string is the empty list.
    pub fn joined_field<T: Wire>(
        &mut self,
        key: &str,
        value: &Value,
        separator: &str,
    ) -> Result<Vec<T>, WireError> {
        self.path.push(Segment::Key(key.to_owned()));
        let read = self.joined(value, separator);
        self.path.pop();
        read
    }

    pub(super) fn joined<T: Wire>(
        &mut self,
        value: &Value,
        separator: &str,
    ) -> Result<Vec<T>, WireError> {
        let text = value
            .as_str()
            .ok_or_else(|| self.wrong_type("a string of items joined by a separator", value))?;
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for (index, item) in text.split(separator).enumerate() {
            self.path.push(Segment::Index(index));
            let read = T::read_wire(&Value::String(item.to_owned()), self).or_else(|err| {
                match serde_json::from_str::<Value>(item) {
                    Ok(v) if v.is_number() || v.is_boolean() => T::read_wire(&v, self),
                    _ => Err(err),
                }
            });
            self.path.pop();
            out.push(read?);
        }
        Ok(out)
    }

    /// The current value as an object, or a type error.
    pub fn object<'v>(&self, value: &'v Value) -> Result<&'v Map<String, Value>, WireError> {
        value
            .as_object()
            .ok_or_else(|| self.wrong_type("an object", value))
    }

    /// The current value as a string, or a type error.
    pub fn str<'v>(&self, value: &'v Value) -> Result<&'v str, WireError> {
        value
            .as_str()
            .ok_or_else(|| self.wrong_type("a string", value))
    }

    /// An error at the current path.
    pub fn error(&self, kind: WireErrorKind) -> WireError {
        WireError {
            path: self.render_path(None),
            kind,
        }
    }

    /// An error at `key` under the current path.
    pub fn error_at(&self, key: &str, kind: WireErrorKind) -> WireError {
        WireError {
            path: self.render_path(Some(key)),
            kind,
        }
    }

    /// A required field is absent.
    pub fn missing(&self, key: &str) -> WireError {
        self.error_at(key, WireErrorKind::Missing)
    }

    /// A field the spec does not know. `other_form` is the name of the field
    /// the key belongs to in the other form, when it is one.
    pub fn unknown(&self, key: &str, other_form: Option<&'static str>) -> WireError {
        let hint = other_form.map(|name| Hint {
            form: self.form,
            name,
        });
        self.error_at(key, WireErrorKind::Unknown { hint })
    }

    /// The value has the wrong JSON type.
    pub fn wrong_type(&self, expected: &'static str, found: &Value) -> WireError {
        self.error(WireErrorKind::WrongType {
            expected,
            found: json_type(found),
        })
    }

    fn render_path(&self, last: Option<&str>) -> String {
        match last {
            None => render_segments(&self.path),
            Some(key) => {
                let mut out = render_segments(&self.path);
                push_key(&mut out, key);
                out
            }
        }
    }
}

/// `data.thing1.value`, `articles[2].url`: the path of a field, with control
/// characters in keys (which come from the input) escaped so that printing a
/// path can never move a terminal's cursor or forge a line.
pub(super) fn render_segments(segments: &[Segment]) -> String {
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Key(key) => push_key(&mut out, key),
            Segment::Index(index) => {
                out.push('[');
                out.push_str(&index.to_string());
                out.push(']');
            }
        }
    }
    out
}

fn push_key(out: &mut String, key: &str) {
    if !out.is_empty() {
        out.push('.');
    }
    for c in key.chars() {
        if c.is_control() || is_bidi_control(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
}

/// Unicode's bidirectional formatting characters, which reorder what a
/// terminal shows without being `char::is_control`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_item_is_named_by_its_index() {
        let mut cx = Cx::new(Form::Cloud, true);
        let err = cx
            .joined_field::<i64>("ids", &Value::from("2,x"), ",")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ids[1]: expected an integer, found a string"
        );
        let err = cx
            .joined_field::<i64>("ids", &serde_json::json!([2]), ",")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ids: expected a string of items joined by a separator, found an array"
        );
    }
}
