//! The strict JSON reader: text into a [`Value`], refusing an object that
//! names a key twice ([`parse_json`], and [`buffer_value`](super::buffer_value)
//! for a value inside a streaming read).

use std::fmt;

use serde_json::{Map, Value};

use super::cx::{Segment, render_segments};
use super::{WireError, WireErrorKind};

/// Parses JSON text into a value, refusing an object that names a key twice.
///
/// serde_json keeps the last of two equal keys, so `{"touser":"OPENID",
/// "touser":"ATTACKER"}` would silently become a message to ATTACKER. Every
/// body that reaches a request, an answer or the emulator as text goes
/// through here instead; the error names the repeated key by its path
/// (`touser: duplicate field`). The path is built only when there is an
/// error, as the failure unwinds.
pub fn parse_json(text: &[u8]) -> Result<Value, WireError> {
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_slice(text);
    let parsed = serde::de::DeserializeSeed::deserialize(
        Strict {
            failure: &mut failure,
        },
        &mut de,
    )
    .and_then(|value| de.end().map(|()| value));
    match (parsed, failure) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some((mut reversed, kind))) => {
            reversed.reverse();
            Err(WireError {
                path: render_segments(&reversed),
                kind,
            })
        }
        (Err(err), None) => Err(WireError::syntax(err)),
    }
}

/// The seed of [`parse_json`]: a JSON value, with the first duplicate key
/// recorded in `failure` as (the path from the key outwards, the error).
pub(super) struct Strict<'a> {
    pub(super) failure: &'a mut Option<(Vec<Segment>, WireErrorKind)>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            let next = seq.next_element_seed(Strict {
                failure: &mut *self.failure,
            });
            match next {
                Ok(Some(item)) => items.push(item),
                Ok(None) => {
                    items.shrink_to_fit();
                    return Ok(Value::Array(items));
                }
                Err(err) => {
                    if let Some((path, _)) = self.failure.as_mut() {
                        path.push(Segment::Index(items.len()));
                    }
                    return Err(err);
                }
            }
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // Entries are collected first so that the object is allocated at its
        // exact size: a growing map keeps room for several entries, and in a
        // body of many small objects (template data) that room dominates.
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match map.next_value_seed(Strict {
                failure: &mut *self.failure,
            }) {
                Ok(value) => entries.push((key, value)),
                Err(err) => {
                    if let Some((path, _)) = self.failure.as_mut() {
                        path.push(Segment::Key(key));
                    }
                    return Err(err);
                }
            }
        }
        let mut object = Map::with_capacity(entries.len());
        for (key, value) in entries {
            if object.contains_key(&key) {
                *self.failure = Some((vec![Segment::Key(key)], WireErrorKind::Duplicate));
                return Err(serde::de::Error::custom("duplicate field"));
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}
