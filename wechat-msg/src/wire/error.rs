//! The errors of reading a body: [`WireError`] (where), [`WireErrorKind`]
//! (what), and the [`Hint`] offered for a key of the other form.

use std::fmt;

use serde_json::Value;

use super::Form;

/// A body that does not match the spec, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    pub(super) path: String,
    pub(super) kind: WireErrorKind,
}

/// The name a key has in the other form, offered when a key of one form is
/// used in the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub(super) form: Form,
    pub(super) name: &'static str,
}

impl Hint {
    /// The form the body was read in (where the key is unknown).
    pub fn form(&self) -> Form {
        self.form
    }

    /// The field's name in that form: what the key should have been.
    pub fn name(&self) -> &'static str {
        self.name
    }
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
    /// An object names this key twice (JSON parsers disagree on which one
    /// wins, so neither is taken).
    Duplicate,
    /// A string that should be base64 and is not.
    Base64,
    /// A template keyword's value does not fit its type's rule (the path
    /// ends at the value: `data.thing1.value`).
    Keyword(crate::keyword_rule::KeywordError),
    /// A value built in code that its wire form cannot hold (a joined
    /// list's item that contains the separator).
    Unwritable(String),
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

    /// An error at a dotted path (`List[0].TemplateId`).
    #[doc(hidden)]
    pub fn at(path: String, kind: WireErrorKind) -> Self {
        WireError { path, kind }
    }

    /// An error at the root of a body.
    pub fn at_root(kind: WireErrorKind) -> Self {
        WireError {
            path: String::new(),
            kind,
        }
    }

    pub(super) fn syntax(err: serde_json::Error) -> Self {
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
            WireErrorKind::Duplicate => f.write_str("duplicate field"),
            WireErrorKind::Base64 => f.write_str("invalid base64"),
            WireErrorKind::Keyword(err) => write!(f, "{err}"),
            WireErrorKind::Unwritable(why) => write!(f, "cannot be written: {why}"),
        }
    }
}

impl std::error::Error for WireError {}

/// How an error names the JSON type of `value` (`a string`, `an array`):
/// the `found` of [`WireErrorKind::WrongType`].
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
