//! The wire forms of the types every spec uses: strings, integers,
//! booleans, lists, maps keyed by user data, and files ([`MediaFile`]).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize as _;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::cx::Segment;
use super::{Cx, Form, MapSeed, Seed, Wire, WireError, WireErrorKind, Wired};
use crate::media::{MediaFile, decode_base64};
use crate::protocol;

impl Wire for String {
    #[inline]
    fn write_wire<S: Serializer>(&self, _: Form, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
    fn read_wire(value: &Value, cx: &mut Cx) -> Result<Self, WireError> {
        cx.str(value).map(str::to_owned)
    }
    #[inline]
    fn read_from<'de, D: serde::Deserializer<'de>>(de: D, _: &mut Cx) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(de)
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
    #[inline]
    fn read_from<'de, D: serde::Deserializer<'de>>(de: D, _: &mut Cx) -> Result<Self, D::Error> {
        <i64 as serde::Deserialize>::deserialize(de)
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
    #[inline]
    fn read_from<'de, D: serde::Deserializer<'de>>(de: D, _: &mut Cx) -> Result<Self, D::Error> {
        <bool as serde::Deserialize>::deserialize(de)
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
    fn read_from<'de, D: serde::Deserializer<'de>>(de: D, cx: &mut Cx) -> Result<Self, D::Error> {
        serde::de::DeserializeSeed::deserialize(MapSeed::new(cx), de)
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
    fn read_from<'de, D: serde::Deserializer<'de>>(de: D, cx: &mut Cx) -> Result<Self, D::Error> {
        struct SeqVisitor<'c, T>(&'c mut Cx, PhantomData<fn() -> T>);
        impl<'de, T: Wire> serde::de::Visitor<'de> for SeqVisitor<'_, T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = seq.next_element_seed(Seed::<T>::new(&mut *self.0))? {
                    out.push(item);
                }
                Ok(out)
            }
        }
        de.deserialize_seq(SeqVisitor(cx, PhantomData))
    }
}

/// A file: `{content_type|contentType, value}` with the bytes in base64
/// ([`protocol::FileJson`]).
impl Wire for MediaFile {
    fn write_wire<S: Serializer>(&self, form: Form, serializer: S) -> Result<S::Ok, S::Error> {
        protocol::FileJson {
            form,
            content_type: self.content_type(),
            bytes: self.bytes(),
        }
        .serialize(serializer)
    }

    fn read_wire(value: &Value, cx: &mut Cx) -> Result<Self, WireError> {
        let type_key = protocol::content_type_key(cx.form());
        let value_key = protocol::FILE_BYTES;
        let object = cx.object(value)?;
        let mut content_type = None;
        let mut bytes = None;
        for (key, value) in object {
            if key == type_key {
                content_type = Some(cx.field::<String>(key, value)?);
            } else if key == value_key {
                let text: String = cx.field(key, value)?;
                bytes = Some(
                    decode_base64(&text).ok_or_else(|| cx.error_at(key, WireErrorKind::Base64))?,
                );
            } else if cx.strict() {
                return Err(cx.unknown(key, None));
            }
        }
        Ok(MediaFile::new(
            content_type.ok_or_else(|| cx.missing(type_key))?,
            bytes.ok_or_else(|| cx.missing(value_key))?,
        ))
    }
}
