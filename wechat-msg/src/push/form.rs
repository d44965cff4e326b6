//! The typed side of pushes: the trait generated push enums implement, the
//! push a spec does not know, and the readers and writers generated code
//! calls for each element.

use serde_json::{Map, Number, Value};

use crate::wire::{WireError, WireErrorKind, json_type};

/// A push enum generated from the spec's `[[push]]` tables (`wechat_msg::Push`
/// for the repository's spec). The receiver reads every push through it.
pub trait PushMessage: Sized + Clone + Send + Sync + 'static {
    /// The XML elements that wrap a list, and the key of the list, lifted
    /// when an XML push is read (`("SubscribeMsgPopupEvent", "List")`).
    const XML_WRAPPERS: &'static [(&'static str, &'static str)];

    /// Reads a push in the JSON push form. Unknown keys are ignored; a push
    /// of a kind the spec does not know is kept whole as unknown.
    fn from_push_form(map: Map<String, Value>) -> Result<Self, WireError>;

    /// The push in the JSON push form, as WeChat sends it (a list of one
    /// item as an object).
    fn to_push_form(&self) -> Map<String, Value>;

    /// The (key, wrapper element) pairs for writing this push as XML.
    fn xml_wrappers(&self) -> &'static [(&'static str, &'static str)];

    /// What identifies a delivery of this push for deduplication: the
    /// message id of a message, the sender and time of an event. `None`
    /// when the push carries neither.
    fn dedupe_key(&self) -> Option<String>;

    /// The user the push is from.
    fn sender(&self) -> Option<&str>;

    /// The Mini Program it was pushed to (its gh_ id).
    fn recipient(&self) -> Option<&str>;

    /// Whether it is an event (`MsgType` `event`) rather than a message.
    fn is_event(&self) -> bool;

    /// The push's time, unix seconds.
    fn create_time(&self) -> Option<i64>;
}

/// A push of a kind the spec does not describe, kept whole in the JSON push
/// form.
#[derive(Clone, Debug, PartialEq)]
pub struct UnknownPush(Map<String, Value>);

impl UnknownPush {
    /// Wraps a push in the JSON push form.
    pub fn new(fields: Map<String, Value>) -> Self {
        UnknownPush(fields)
    }

    /// Every key of the push.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The push, taken apart.
    pub fn into_fields(self) -> Map<String, Value> {
        self.0
    }
}

fn at(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn absent(
    map: &Map<String, Value>,
    key: &str,
    required: bool,
    prefix: &str,
) -> Result<(), WireError> {
    if required && !map.contains_key(key) {
        return Err(WireError::at(at(prefix, key), WireErrorKind::Missing));
    }
    Ok(())
}

/// Reads a string element; a number is taken as its digits.
#[doc(hidden)]
pub fn read_string(
    map: &Map<String, Value>,
    key: &str,
    required: bool,
    prefix: &str,
) -> Result<Option<String>, WireError> {
    absent(map, key, required, prefix)?;
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(WireError::at(
            at(prefix, key),
            WireErrorKind::WrongType {
                expected: "a string",
                found: json_type(other),
            },
        )),
    }
}

/// Reads an integer element, sent as a number or as a string of digits
/// (JSON pushes send some numbers as strings; XML sends all of them so).
#[doc(hidden)]
pub fn read_integer(
    map: &Map<String, Value>,
    key: &str,
    required: bool,
    prefix: &str,
) -> Result<Option<i64>, WireError> {
    absent(map, key, required, prefix)?;
    let out_of_range = || WireError::at(at(prefix, key), WireErrorKind::OutOfRange);
    match map.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(out_of_range),
        Some(Value::String(s)) => {
            let digits = s.trim();
            if digits.is_empty() {
                return if required {
                    Err(WireError::at(at(prefix, key), WireErrorKind::Missing))
                } else {
                    Ok(None)
                };
            }
            digits.parse::<i64>().map(Some).map_err(|_| {
                if digits.bytes().all(|b| b.is_ascii_digit()) {
                    out_of_range()
                } else {
                    WireError::at(
                        at(prefix, key),
                        WireErrorKind::WrongType {
                            expected: "an integer",
                            found: "a string",
                        },
                    )
                }
            })
        }
        Some(other) => Err(WireError::at(
            at(prefix, key),
            WireErrorKind::WrongType {
                expected: "an integer",
                found: json_type(other),
            },
        )),
    }
}

/// Reads a list element: one object, or an array of objects.
#[doc(hidden)]
pub fn read_items<T>(
    map: &Map<String, Value>,
    key: &str,
    required: bool,
    prefix: &str,
    read: impl Fn(&Map<String, Value>, &str) -> Result<T, WireError>,
) -> Result<Vec<T>, WireError> {
    absent(map, key, required, prefix)?;
    let wrong = |found: &Value, path: String| {
        WireError::at(
            path,
            WireErrorKind::WrongType {
                expected: "an object or an array of objects",
                found: json_type(found),
            },
        )
    };
    match map.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Object(one)) => Ok(vec![read(one, &format!("{}[0]", at(prefix, key)))?]),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let path = format!("{}[{i}]", at(prefix, key));
                match item {
                    Value::Object(one) => read(one, &path),
                    other => Err(wrong(other, path)),
                }
            })
            .collect(),
        Some(other) => Err(wrong(other, at(prefix, key))),
    }
}

/// Writes a string element.
#[doc(hidden)]
pub fn write_string(map: &mut Map<String, Value>, key: &str, value: &str) {
    map.insert(key.to_owned(), Value::String(value.to_owned()));
}

/// Writes an integer element as a number.
#[doc(hidden)]
pub fn write_integer(map: &mut Map<String, Value>, key: &str, value: i64) {
    map.insert(key.to_owned(), Value::Number(Number::from(value)));
}

/// Writes a list element as WeChat does: one item as an object, several as
/// an array, none not at all.
#[doc(hidden)]
pub fn write_items(map: &mut Map<String, Value>, key: &str, mut items: Vec<Map<String, Value>>) {
    match items.len() {
        0 => {}
        1 => {
            map.insert(key.to_owned(), Value::Object(items.remove(0)));
        }
        _ => {
            map.insert(
                key.to_owned(),
                Value::Array(items.into_iter().map(Value::Object).collect()),
            );
        }
    }
}
