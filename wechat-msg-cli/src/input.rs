//! Reading a request body and finding its endpoint.

use std::fmt;
use std::io::Read;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use wechat_msg::EndpointInfo;

use crate::Failure;
use crate::output::Foreign;

/// The endpoint named `api`, or an error listing the known names.
pub fn endpoint(api: &str) -> Result<&'static EndpointInfo, Failure> {
    wechat_msg::endpoint(api).ok_or_else(|| {
        let known: Vec<&str> = wechat_msg::ENDPOINTS.iter().map(|e| e.name).collect();
        Failure::invalid(format!(
            "unknown API `{}`; known APIs: {}",
            Foreign(api),
            known.join(", ")
        ))
    })
}

/// The JSON body in `file`, or standard input when `None` or `-`.
///
/// The text is read whole (parsing from a slice is several times faster
/// than from a reader) and dropped once parsed, before the body is used.
pub fn read_json(file: Option<&str>) -> Result<Value, Failure> {
    let (bytes, source) = match file {
        None | Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure::invalid(format!("cannot read standard input: {e}")))?;
            (bytes, "standard input".to_owned())
        }
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::invalid(format!("cannot read {}: {}", Foreign(path), e)))?;
            (bytes, Foreign(path).to_string())
        }
    };
    let Body(value) = serde_json::from_slice(&bytes).map_err(|e| {
        Failure::invalid(format!(
            "{source}: invalid JSON: {}",
            Foreign(&e.to_string())
        ))
    })?;
    Ok(value)
}

/// A JSON body read strictly and compactly: a key given twice in one object
/// is an error (with "last one wins", `{"touser":"A","touser":"B"}` would
/// go to B), and each object is allocated at its exact size. A growing map
/// keeps room for several entries, and in a body of small objects (template
/// data: 100k `{"value": ...}`) that room was most of the memory.
struct Body(Value);

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor).map(Body)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Body(item)) = seq.next_element()? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some(key) = access.next_key::<String>()? {
            let Body(value) = access.next_value()?;
            entries.push((key, value));
        }
        let mut map = Map::with_capacity(entries.len());
        for (key, value) in entries {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}`",
                    Foreign(&key)
                )));
            }
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}
