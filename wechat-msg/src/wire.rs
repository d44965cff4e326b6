//! The two wire forms of every request and answer, and the errors of parsing them.
//!
//! Every generated type implements [`Wire`]: it writes itself in either [`Form`]
//! (HTTP snake_case or cloud-call camelCase) through serde, and reads itself back
//! from a [`serde_json::Value`], reporting the first problem with the path of the
//! field at fault (`link.thumb_url: missing`).

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

/// Which wire form a body is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    /// The HTTPS API: snake_case keys (`thumb_media_id`).
    Http,
    /// The cloud call through wx-server-sdk: camelCase keys (`thumbMediaId`).
    Cloud,
}

impl Form {
    /// Both forms, HTTP first.
    pub const ALL: [Form; 2] = [Form::Http, Form::Cloud];

    /// `"http"` or `"cloud"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Http => "http",
            Form::Cloud => "cloud",
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Form {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "http" => Ok(Form::Http),
            "cloud" => Ok(Form::Cloud),
            other => Err(format!(
                "unknown wire form `{other}`; expected `http` or `cloud`"
            )),
        }
    }
}

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

    /// `self` in `form` as a JSON value.
    fn to_value(&self, form: Form) -> Value {
        serde_json::to_value(Wired(form, self)).expect("wire types always serialize")
    }

    /// Parses JSON text in `form`, rejecting unknown fields.
    fn from_json(text: &str, form: Form) -> Result<Self, WireError> {
        let value: Value = serde_json::from_str(text).map_err(WireError::syntax)?;
        Self::from_value(&value, form)
    }

    /// Parses a JSON value in `form`, rejecting unknown fields.
    fn from_value(value: &Value, form: Form) -> Result<Self, WireError> {
        Self::read_wire(value, &mut Cx::new(form, true))
    }
}

/// A wire value paired with the form to write it in; implements [`Serialize`].
#[derive(Debug)]
pub struct Wired<'a, T>(pub Form, pub &'a T);

impl<T: Wire> Serialize for Wired<'_, T> {
    #[inline]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.1.write_wire(self.0, serializer)
    }
}

/// Parses `value` as `T` in form `from` and writes it back in form `to`.
pub fn convert<T: Wire>(value: &Value, from: Form, to: Form) -> Result<Value, WireError> {
    Ok(T::from_value(value, from)?.to_value(to))
}

/// One step of a path into a body.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// The state of a parse: the form, whether unknown fields are errors, and the
/// path to the value being read.
#[derive(Debug)]
pub struct Cx {
    form: Form,
    strict: bool,
    path: Vec<Segment>,
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
        let mut out = String::new();
        let segments = self.path.iter().map(|s| match s {
            Segment::Key(k) => Segment::Key(k.clone()),
            Segment::Index(i) => Segment::Index(*i),
        });
        for segment in segments.chain(last.map(|k| Segment::Key(k.to_owned()))) {
            match segment {
                Segment::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&key);
                }
                Segment::Index(index) => {
                    out.push('[');
                    out.push_str(&index.to_string());
                    out.push(']');
                }
            }
        }
        out
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A body that does not match the spec, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    path: String,
    kind: WireErrorKind,
}

/// The name a key has in the other form, offered when a key of one form is
/// used in the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    form: Form,
    name: &'static str,
}

/// What is wrong with a body.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireErrorKind {
    /// The text is not JSON.
    Syntax(String),
    /// A required field is absent.
    Missing,
    /// A field the spec does not define.
    Unknown {
        /// Set when the key is this field's name in the other form.
        hint: Option<Hint>,
    },
    /// A value of the wrong JSON type.
    WrongType {
        /// What the spec asks for.
        expected: &'static str,
        /// What the body has.
        found: &'static str,
    },
    /// A string outside the allowed values.
    UnknownValue {
        /// The value found.
        value: String,
        /// The values the spec allows.
        expected: &'static [&'static str],
    },
    /// The payload named by a tag field is absent.
    PayloadMissing {
        /// The tag field.
        tag: &'static str,
        /// The tag's value.
        value: String,
    },
    /// A payload of another kind than the tag names.
    PayloadUnexpected {
        /// The tag field.
        tag: &'static str,
        /// The tag's value.
        value: String,
    },
    /// A number outside the range of the field.
    OutOfRange,
    /// A string that should be base64 and is not.
    Base64,
}

impl WireError {
    /// The dotted path of the field at fault, in the names of the form being
    /// read (`link.thumb_url`); empty for the body itself.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong.
    pub fn kind(&self) -> &WireErrorKind {
        &self.kind
    }

    /// An error at the root of a body.
    pub fn at_root(kind: WireErrorKind) -> Self {
        WireError {
            path: String::new(),
            kind,
        }
    }

    fn syntax(err: serde_json::Error) -> Self {
        WireError::at_root(WireErrorKind::Syntax(err.to_string()))
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "body: {}", self.kind)
        } else {
            write!(f, "{}: {}", self.path, self.kind)
        }
    }
}

impl fmt::Display for WireErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireErrorKind::Syntax(msg) => write!(f, "invalid JSON: {msg}"),
            WireErrorKind::Missing => f.write_str("missing"),
            WireErrorKind::Unknown { hint: None } => f.write_str("unknown field"),
            WireErrorKind::Unknown { hint: Some(hint) } => {
                let other = match hint.form {
                    Form::Http => "cloud",
                    Form::Cloud => "http",
                };
                write!(
                    f,
                    "unknown field in the {} form (it is the {} form's name; use `{}`)",
                    hint.form, other, hint.name
                )
            }
            WireErrorKind::WrongType { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            WireErrorKind::UnknownValue { value, expected } => {
                write!(
                    f,
                    "unknown value {value:?}; expected one of: {}",
                    expected.join(", ")
                )
            }
            WireErrorKind::PayloadMissing { tag, value } => {
                write!(f, "missing (required when {tag} is {value:?})")
            }
            WireErrorKind::PayloadUnexpected { tag, value } => {
                write!(f, "not allowed when {tag} is {value:?}")
            }
            WireErrorKind::OutOfRange => f.write_str("number out of range"),
            WireErrorKind::Base64 => f.write_str("invalid base64"),
        }
    }
}

impl std::error::Error for WireError {}

impl Wire for String {
    #[inline]
    fn write_wire<S: Serializer>(&self, _: Form, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
    fn read_wire(value: &Value, cx: &mut Cx) -> Result<Self, WireError> {
        cx.str(value).map(str::to_owned)
    }
}

impl Wire for i64 {
    #[inline]
    fn write_wire<S: Serializer>(&self, _: Form, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(*self)
    }
    fn read_wire(value: &Value, cx: &mut Cx) -> Result<Self, WireError> {
        match value {
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| cx.error(WireErrorKind::OutOfRange)),
            other => Err(cx.wrong_type("an integer", other)),
        }
    }
}

impl Wire for bool {
    #[inline]
    fn write_wire<S: Serializer>(&self, _: Form, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(*self)
    }
    fn read_wire(value: &Value, cx: &mut Cx) -> Result<Self, WireError> {
        value
            .as_bool()
            .ok_or_else(|| cx.wrong_type("a boolean", value))
    }
}

/// Maps keyed by user data (template keywords): keys pass through untouched in
/// both forms.
impl<T: Wire> Wire for BTreeMap<String, T> {
    fn write_wire<S: Serializer>(&self, form: Form, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (key, value) in self {
            map.serialize_entry(key, &Wired(form, value))?;
        }
        map.end()
    }
    fn read_wire(value: &Value, cx: &mut Cx) -> Result<Self, WireError> {
        let object = cx.object(value)?;
        let mut out = BTreeMap::new();
        for (key, value) in object {
            out.insert(key.clone(), cx.field(key, value)?);
        }
        Ok(out)
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn write_wire<S: Serializer>(&self, form: Form, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(|item| Wired(form, item)))
    }
    fn read_wire(value: &Value, cx: &mut Cx) -> Result<Self, WireError> {
        let items = value
            .as_array()
            .ok_or_else(|| cx.wrong_type("an array", value))?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            cx.path.push(Segment::Index(index));
            let read = T::read_wire(item, cx);
            cx.path.pop();
            out.push(read?);
        }
        Ok(out)
    }
}
