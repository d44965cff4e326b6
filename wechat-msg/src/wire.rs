//! The two wire forms of every request and answer, and the errors of parsing them.
//!
//! Every generated type implements [`Wire`]: it writes itself in either [`Form`]
//! (HTTP snake_case or cloud-call camelCase) through serde, and reads itself back
//! from JSON text (streaming, [`Wire::from_json`]) or a [`serde_json::Value`],
//! reporting the first problem with the path of the field at fault
//! (`link.thumb_url: missing`).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

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
    /// [`Client::send`](crate::client::Client::send) calls this before a
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
    fn media(&self, key: &str) -> Option<&crate::media::MediaFile> {
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

/// Parses `value` as `T` in form `from` and writes it back in form `to`.
pub fn convert<T: Wire>(value: &Value, from: Form, to: Form) -> Result<Value, WireError> {
    Ok(T::from_value(value, from)?.to_value(to))
}

/// [`EndpointInfo::convert_answer`](crate::EndpointInfo::convert_answer)
/// of an endpoint whose answer is the object type `A`: `value` read as `A`
/// in form `from` (leniently, as answers are read) and written in form
/// `to`, so every key the spec names is renamed at every depth. What the
/// type does not hold is kept, in the order of `value`: `errcode` and
/// `errmsg` (`errCode`, `errMsg`) under their names in `to`, and keys the
/// spec does not name, at any depth, renamed by wx-server-sdk's rule
/// ([`crate::sdk::rename_keys`]).
pub fn convert_answer<A: Wire>(value: &Value, from: Form, to: Form) -> Result<Value, WireError> {
    let typed = A::read_wire(value, &mut Cx::new(from, false))?;
    Ok(keep_unnamed(value, typed.to_value(to), from, to, true))
}

/// [`EndpointInfo::convert_answer`](crate::EndpointInfo::convert_answer)
/// of an endpoint that answers no fields of its own (an ack) or bytes (whose
/// JSON form is `{content_type, buffer}`): the status keys by their names,
/// every other key by wx-server-sdk's rule.
pub fn convert_untyped_answer(value: &Value, from: Form, to: Form) -> Result<Value, WireError> {
    Cx::new(from, false).object(value)?;
    Ok(keep_unnamed(
        value,
        Value::Object(Map::new()),
        from,
        to,
        true,
    ))
}

/// The status keys of an answer in each form.
const STATUS_KEYS: [(&str, &str); 2] = [("errcode", "errCode"), ("errmsg", "errMsg")];

/// `converted` (what the generated writer wrote of `original`) with what it
/// does not hold carried over from `original`. A key of `original` is found
/// in `converted` under its own name or its name by the rule (the spec's
/// names obey the rule, or are the same in both forms); one found in
/// neither is not in the spec and is carried over, renamed by the rule at
/// every depth.
fn keep_unnamed(original: &Value, converted: Value, from: Form, to: Form, top: bool) -> Value {
    match (original, converted) {
        (Value::Object(original), Value::Object(mut converted)) => {
            let mut out = Map::new();
            for (key, value) in original {
                let status = STATUS_KEYS
                    .iter()
                    .find(|(http, cloud)| {
                        top && key == if from == Form::Http { http } else { cloud }
                    })
                    .map(|&(http, cloud)| if to == Form::Http { http } else { cloud });
                if let Some(name) = status {
                    out.insert(name.to_owned(), value.clone());
                    continue;
                }
                let ruled = crate::sdk::rename(key, from, to);
                let found = converted
                    .remove(key)
                    .map(|v| (key.clone(), v))
                    .or_else(|| converted.remove(&ruled).map(|v| (ruled.clone(), v)));
                match found {
                    Some((name, written)) => {
                        out.insert(name, keep_unnamed(value, written, from, to, false));
                    }
                    None => {
                        out.insert(ruled, crate::sdk::rename_keys(value, from, to));
                    }
                }
            }
            // Keys the writer added that `original` lacks (none today).
            out.extend(converted);
            Value::Object(out)
        }
        (Value::Array(original), Value::Array(converted)) if original.len() == converted.len() => {
            Value::Array(
                original
                    .iter()
                    .zip(converted)
                    .map(|(o, c)| keep_unnamed(o, c, from, to, false))
                    .collect(),
            )
        }
        (_, converted) => converted,
    }
}

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

/// The seed of [`parse_json`]: a JSON value, with the first duplicate key
/// recorded in `failure` as (the path from the key outwards, the error).
struct Strict<'a> {
    failure: &'a mut Option<(Vec<Segment>, WireErrorKind)>,
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

/// One step of a path into a body.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
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

    fn joined<T: Wire>(&mut self, value: &Value, separator: &str) -> Result<Vec<T>, WireError> {
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
fn render_segments(segments: &[Segment]) -> String {
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
    Keyword(crate::keyword::KeywordError),
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
            WireErrorKind::Duplicate => f.write_str("duplicate field"),
            WireErrorKind::Base64 => f.write_str("invalid base64"),
            WireErrorKind::Keyword(err) => write!(f, "{err}"),
            WireErrorKind::Unwritable(why) => write!(f, "cannot be written: {why}"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_converts_by_the_spec_at_every_depth_and_by_the_rule_elsewhere() {
        let list = crate::endpoint("subscribeMessage.getTemplateList").unwrap();
        let cloud = json!({
            "errCode": 0,
            "errMsg": "openapi.subscribeMessage.getTemplateList:ok",
            "data": [{
                "priTmplId": "T1", "title": "t", "content": "c", "type": 2,
                "keywordEnumValueList": [{"keywordCode": "phrase1.DATA", "enumValueList": ["a"]}],
                "extraNote": {"innerKey": 1}
            }]
        });
        let http = (list.convert_answer)(&cloud, Form::Cloud, Form::Http).unwrap();
        // The spec keeps the verbatim camelCase keys at depth, where the
        // SDK's request rule would make `pri_tmpl_id` and `keyword_code`.
        assert_eq!(
            http,
            json!({
                "errcode": 0,
                "errmsg": "openapi.subscribeMessage.getTemplateList:ok",
                "data": [{
                    "priTmplId": "T1", "title": "t", "content": "c", "type": 2,
                    "keywordEnumValueList": [{"keywordCode": "phrase1.DATA", "enumValueList": ["a"]}],
                    "extra_note": {"inner_key": 1}
                }]
            })
        );
        assert_ne!(http, crate::sdk::request_keys(&cloud));
        let back = (list.convert_answer)(&http, Form::Http, Form::Cloud).unwrap();
        assert_eq!(back, cloud);
        // Keys in order of the answer.
        let keys: Vec<&String> = back.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["errCode", "errMsg", "data"]);

        // Top-level answer fields of their own names, and an ack.
        let media = crate::endpoint("customerServiceMessage.uploadTempMedia").unwrap();
        let answer = json!({"errcode": 0, "errmsg": "ok", "type": "image", "media_id": "M", "created_at": 7});
        assert_eq!(
            (media.convert_answer)(&answer, Form::Http, Form::Cloud).unwrap(),
            json!({"errCode": 0, "errMsg": "ok", "type": "image", "mediaId": "M", "createdAt": 7})
        );
        let send = crate::endpoint("customerServiceMessage.send").unwrap();
        assert_eq!(
            (send.convert_answer)(
                &json!({"errcode": 0, "errmsg": "ok"}),
                Form::Http,
                Form::Cloud
            )
            .unwrap(),
            json!({"errCode": 0, "errMsg": "ok"})
        );

        // A value of the wrong type is named.
        let err = (list.convert_answer)(
            &json!({"data": [{"priTmplId": 1}]}),
            Form::Http,
            Form::Cloud,
        )
        .unwrap_err();
        assert_eq!(err.path(), "data[0].priTmplId");
    }

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
