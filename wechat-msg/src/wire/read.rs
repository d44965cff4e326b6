//! The streaming readers behind [`Wire::read_from`]: seeds that read a
//! value of a wire type straight from a serde deserializer, object keys
//! and slots, and skipping what a lenient read does not keep. Support for
//! generated readers, not part of the public API.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde_json::Value;

use super::parse::Strict;
use super::{Cx, Form, Wire, WireError, parse_json};

/// Any JSON value, skipped by a streaming reader, with what [`parse_json`]
/// checks on the way: no object in it gives a key twice. `.0` is whether
/// the value is the integer 0 or null (an errcode of a success).
#[doc(hidden)]
#[derive(Debug)]
pub struct Skip(pub bool);

impl<'de> serde::Deserialize<'de> for Skip {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> serde::de::Visitor<'de> for SkipVisitor {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip(false))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Skip, E> {
        Ok(Skip(v == 0))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Skip, E> {
        Ok(Skip(v == 0))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip(false))
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip(false))
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip(true))
    }
    fn visit_none<E>(self) -> Result<Skip, E> {
        Ok(Skip(true))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip(false))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        let mut keys: Vec<Key<'de>> = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if keys.iter().any(|k| k.as_str() == key.as_str()) {
                return Err(mismatch());
            }
            map.next_value::<Skip>()?;
            keys.push(key);
        }
        Ok(Skip(false))
    }
}

/// A JSON object, skipped as [`Skip`] skips it; anything else is refused.
pub(crate) struct SkipObject;

impl<'de> serde::Deserialize<'de> for SkipObject {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_map(SkipVisitor).map(|_| SkipObject)
    }
}

/// `T` read from the whole of `text`, or `None` when it is not that.
pub(crate) fn read_text<'de, T: serde::Deserialize<'de>>(text: &'de str) -> Option<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let read = T::deserialize(&mut de).ok()?;
    de.end().ok().map(|()| read)
}

/// [`Answer::from_text`](crate::Answer::from_text) of a generated answer
/// type: read leniently (keys beyond the spec's, errcode and errmsg
/// among them, are skipped) straight from the text; on any failure read
/// again through a [`Value`], whose reader names the field at fault.
#[doc(hidden)]
pub fn answer_from_text<T: Wire>(text: &str, form: Form) -> Result<T, WireError> {
    let mut reader = crate::json::Reader::new(text);
    if let Ok(read) = T::read_from(&mut reader, &mut Cx::new(form, false))
        && reader.end().is_ok()
    {
        return Ok(read);
    }
    let value = parse_json(text.as_bytes())?;
    T::read_wire(&value, &mut Cx::new(form, false))
}

/// The error of the streaming reader ([`Wire::read_from`]): the body does
/// not match, and the reader that names what is wrong must run.
#[doc(hidden)]
#[cold]
pub fn mismatch<E: serde::de::Error>() -> E {
    E::custom("the body does not match its type")
}

/// Reads one JSON value, refusing duplicate keys: a payload that came before
/// its tag, or a type read through [`Wire::read_wire`].
#[doc(hidden)]
pub fn buffer_value<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Value, D::Error> {
    let mut failure = None;
    serde::de::DeserializeSeed::deserialize(
        Strict {
            failure: &mut failure,
        },
        de,
    )
}

/// Reads one JSON value with [`buffer_value`].
#[doc(hidden)]
#[derive(Debug)]
pub struct BufferSeed;

impl<'de> serde::de::DeserializeSeed<'de> for BufferSeed {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Value, D::Error> {
        buffer_value(de)
    }
}

/// Reads `T` from the deserializer handed to it ([`Wire::read_from`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct Seed<'c, T>(&'c mut Cx, PhantomData<fn() -> T>);

impl<'c, T> Seed<'c, T> {
    /// A seed reading in the form of `cx`.
    #[inline]
    pub fn new(cx: &'c mut Cx) -> Self {
        Seed(cx, PhantomData)
    }
}

impl<'de, T: Wire> serde::de::DeserializeSeed<'de> for Seed<'_, T> {
    type Value = T;
    #[inline]
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<T, D::Error> {
        T::read_from(de, self.0)
    }
}

/// Reads a map keyed by user data (`map<T>`): its keys distinct, and, for
/// a field with `keywords` in the spec, each entry checked as it is read
/// (`check` says whether the entry's value fits its keyword's type).
#[doc(hidden)]
pub struct MapSeed<'c, T> {
    cx: &'c mut Cx,
    check: fn(&str, &T) -> bool,
}

impl<T> fmt::Debug for MapSeed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapSeed").finish_non_exhaustive()
    }
}

impl<'c, T> MapSeed<'c, T> {
    /// A seed reading any map in the form of `cx`.
    #[inline]
    pub fn new(cx: &'c mut Cx) -> Self {
        MapSeed::checked(cx, |_, _| true)
    }

    /// A seed reading in the form of `cx`, checking entries with `check`.
    #[inline]
    pub fn checked(cx: &'c mut Cx, check: fn(&str, &T) -> bool) -> Self {
        MapSeed { cx, check }
    }
}

impl<'de, T: Wire> serde::de::DeserializeSeed<'de> for MapSeed<'_, T> {
    type Value = BTreeMap<String, T>;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de, T: Wire> serde::de::Visitor<'de> for MapSeed<'_, T> {
    type Value = BTreeMap<String, T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Seed::<T>::new(&mut *self.cx))?;
            if !(self.check)(&key, &value) || out.insert(key, value).is_some() {
                return Err(mismatch());
            }
        }
        Ok(out)
    }
}

/// An optional value read by the seed `.0` (an optional field: a
/// [`Seed`], a [`MapSeed`]): `null` is absent.
#[doc(hidden)]
#[derive(Debug)]
pub struct Nullable<S>(pub S);

impl<'de, S: serde::de::DeserializeSeed<'de>> serde::de::DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    #[inline]
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_option(self)
    }
}

impl<'de, S: serde::de::DeserializeSeed<'de>> serde::de::Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    #[inline]
    fn visit_some<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(de).map(Some)
    }
}

/// Reads a list joined into one string ([`Joined`], [`Cx::joined_field`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct JoinedSeed<'c, T>(&'c mut Cx, &'static str, PhantomData<fn() -> T>);

impl<'c, T> JoinedSeed<'c, T> {
    /// A seed reading items joined by `separator` in the form of `cx`.
    #[inline]
    pub fn new(cx: &'c mut Cx, separator: &'static str) -> Self {
        JoinedSeed(cx, separator, PhantomData)
    }
}

impl<'de, T: Wire> serde::de::DeserializeSeed<'de> for JoinedSeed<'_, T> {
    type Value = Vec<T>;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Vec<T>, D::Error> {
        let JoinedSeed(cx, separator, _) = self;
        let text = Value::String(<String as serde::Deserialize>::deserialize(de)?);
        cx.joined(&text, separator).map_err(|_| mismatch())
    }
}

/// An object key, borrowed from the input when it holds no escape.
#[doc(hidden)]
#[derive(Debug)]
pub struct Key<'de>(std::borrow::Cow<'de, str>);

impl Key<'_> {
    /// The key's text.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Key<'de> {
    #[inline]
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> serde::de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v)))
            }
        }
        de.deserialize_str(KeyVisitor)
    }
}

/// The slots of a generated object's streaming reader: each key of either
/// form names one (a field, a union's tag, a variant's payload).
#[doc(hidden)]
pub trait Slots {
    /// The slot `key` names in `form`, if any.
    fn slot(form: Form, key: &str) -> Option<usize>;
}

/// An object key as a streaming reader sees it: the slot it names, or a key
/// the type does not know (borrowed from the input when it holds no
/// escape), which a lenient read skips.
#[doc(hidden)]
#[derive(Debug)]
pub enum Field<'de> {
    /// A key of the type, by its slot.
    Slot(usize),
    /// A key the type does not know.
    Unknown(Key<'de>),
}

/// Reads an object key into the [`Field`] it is for `F`.
#[doc(hidden)]
#[derive(Debug)]
pub struct FieldSeed<F>(Form, PhantomData<fn() -> F>);

impl<F> FieldSeed<F> {
    /// A seed reading keys of `form`.
    #[inline]
    pub fn new(form: Form) -> Self {
        FieldSeed(form, PhantomData)
    }
}

impl<'de, F: Slots> serde::de::DeserializeSeed<'de> for FieldSeed<F> {
    type Value = Field<'de>;
    #[inline]
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Field<'de>, D::Error> {
        de.deserialize_identifier(self)
    }
}

impl<'de, F: Slots> serde::de::Visitor<'de> for FieldSeed<F> {
    type Value = Field<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    #[inline]
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Field<'de>, E> {
        Ok(match F::slot(self.0, v) {
            Some(slot) => Field::Slot(slot),
            None => Field::Unknown(Key(std::borrow::Cow::Borrowed(v))),
        })
    }
    fn visit_str<E>(self, v: &str) -> Result<Field<'de>, E> {
        Ok(match F::slot(self.0, v) {
            Some(slot) => Field::Slot(slot),
            None => Field::Unknown(Key(std::borrow::Cow::Owned(v.to_owned()))),
        })
    }
    fn visit_string<E>(self, v: String) -> Result<Field<'de>, E> {
        Ok(match F::slot(self.0, &v) {
            Some(slot) => Field::Slot(slot),
            None => Field::Unknown(Key(std::borrow::Cow::Owned(v))),
        })
    }
}
