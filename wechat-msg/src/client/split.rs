//! Writing a request straight to its HTTP parts: the generated serializer
//! of the request walks its top-level fields once, and each goes where the
//! endpoint's [`FieldInfo`] says: the query, the JSON body, a multipart
//! part or a form pair. No `serde_json::Value` is built, and a file goes to
//! its part as bytes (never through base64).

use bytes::Bytes;
use serde::Serialize;
use serde::ser::{self, Impossible, SerializeSeq, SerializeStruct, Serializer};

use crate::endpoint::{BodyKind, EndpointInfo, FieldInfo, Location, Method};
use crate::media::MediaFile;

use super::transport::{OutBody, OutPart, Outgoing, QueryPair};

type Error = serde_json::Error;

/// The HTTP request of `info` carrying `body` (a request in the HTTP form,
/// as a serde value): query fields to the query string, the rest to a JSON
/// body, multipart parts or a form body. `media` gives a file field's file
/// by its HTTP key. A body that does not serialize as an object is sent
/// whole as JSON, for WeChat to judge.
pub(crate) fn outgoing<'m, B: Serialize + ?Sized>(
    info: &'static EndpointInfo,
    body: &B,
    media: &'m dyn Fn(&str) -> Option<&'m MediaFile>,
) -> Result<Outgoing, Error> {
    let mut split: Split<'m> = Split {
        info,
        media,
        query: Vec::new(),
        json: Vec::with_capacity(256),
        body_fields: 0,
        parts: Vec::new(),
        form: form_urlencoded::Serializer::new(String::new()),
    };
    let body = match body.serialize(&mut split) {
        Ok(()) => split.finish(),
        Err(Unsplit::Error(err)) => return Err(err),
        Err(Unsplit::NotObject) => OutBody::Json(serde_json::to_vec(body)?),
    };
    Ok(Outgoing {
        method: info.method,
        path: info.path,
        query: split.query,
        body,
    })
}

/// The parts being written.
struct Split<'a> {
    info: &'static EndpointInfo,
    media: &'a dyn Fn(&str) -> Option<&'a MediaFile>,
    query: Vec<QueryPair>,
    /// The JSON body, from its `{`, for [`BodyKind::Json`].
    json: Vec<u8>,
    /// How many fields went to the body.
    body_fields: usize,
    /// The parts of a [`BodyKind::Multipart`] body.
    parts: Vec<OutPart>,
    /// The pairs of a [`BodyKind::Form`] body.
    form: form_urlencoded::Serializer<'static, String>,
}

impl Split<'_> {
    fn finish(&mut self) -> OutBody {
        match self.info.body {
            BodyKind::Multipart => OutBody::Multipart(std::mem::take(&mut self.parts)),
            BodyKind::Form => OutBody::Form(self.form.finish().into_bytes()),
            _ if self.info.method == Method::Get && self.body_fields == 0 => OutBody::Empty,
            _ => {
                let mut json = std::mem::take(&mut self.json);
                if self.body_fields == 0 {
                    json.push(b'{');
                }
                json.push(b'}');
                OutBody::Json(json)
            }
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        // A key the table does not list (a union's tag and payload) is a
        // plain body field.
        let field = self.info.fields.iter().find(|f| f.http == key);
        if let Some(
            field @ FieldInfo {
                location: Location::Query,
                ..
            },
        ) = field
        {
            let text = text_of(value)?;
            // A joined list is one string in the JSON forms; its items are
            // escaped one by one so the separator goes out as written.
            self.query.push(match field.join {
                Some(join) => QueryPair {
                    key: key.to_owned(),
                    items: text.split(join).map(str::to_owned).collect(),
                    join,
                },
                None => QueryPair::text(key, text),
            });
            return Ok(());
        }
        self.body_fields += 1;
        match self.info.body {
            BodyKind::Multipart => {
                let file = field
                    .filter(|f| f.file)
                    .and_then(|_| (self.media)(key))
                    .map(|file| OutPart::File {
                        name: key.to_owned(),
                        file_name: file.file_name(),
                        content_type: file.content_type().to_owned(),
                        bytes: Bytes::copy_from_slice(file.bytes()),
                    });
                self.parts.push(match file {
                    Some(part) => part,
                    None => OutPart::Text {
                        name: key.to_owned(),
                        value: text_of(value)?,
                    },
                });
            }
            BodyKind::Form => match value.serialize(ItemTexts(Vec::new())) {
                Ok(items) => {
                    for item in items {
                        self.form.append_pair(key, &item);
                    }
                }
                Err(Unsplit::NotObject) => {
                    self.form.append_pair(key, &text_of(value)?);
                }
                Err(Unsplit::Error(err)) => return Err(err),
            },
            _ => {
                self.json
                    .push(if self.body_fields == 1 { b'{' } else { b',' });
                serde_json::to_writer(&mut self.json, key)?;
                self.json.push(b':');
                value.serialize(&mut serde_json::Serializer::new(&mut self.json))?;
            }
        }
        Ok(())
    }
}

/// A value as query, form or part text: a string as it is, anything else
/// as its JSON text (`42`, `true`, `{"a":1}`).
fn text_of<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let json = serde_json::to_vec(value)?;
    if json.first() == Some(&b'"') {
        serde_json::from_slice(&json)
    } else {
        // serde_json writes UTF-8.
        Ok(String::from_utf8_lossy(&json).into_owned())
    }
}

/// Why a value was not taken apart.
#[derive(Debug)]
enum Unsplit {
    /// It is not the shape this serializer takes (an object at the top, a
    /// list for [`ItemTexts`]); the caller writes it another way.
    NotObject,
    Error(Error),
}

impl std::fmt::Display for Unsplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsplit::NotObject => f.write_str("not an object"),
            Unsplit::Error(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for Unsplit {}

impl ser::Error for Unsplit {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Unsplit::Error(Error::custom(msg))
    }
}

impl From<Error> for Unsplit {
    fn from(err: Error) -> Self {
        Unsplit::Error(err)
    }
}

/// Every method of a serializer that takes only one shape: the others
/// refuse with [`Unsplit::NotObject`].
macro_rules! refuse_all_but {
    ($ok:ty; $($method:ident($($arg:ty),*) -> $ret:ty;)*) => {
        $(
            fn $method(self, $(_: $arg),*) -> Result<$ret, Unsplit> {
                Err(Unsplit::NotObject)
            }
        )*
    };
}

/// The other serializer methods, refused.
macro_rules! refuse_scalars {
    ($ok:ty) => {
        refuse_all_but! { $ok;
            serialize_bool(bool) -> $ok;
            serialize_i8(i8) -> $ok;
            serialize_i16(i16) -> $ok;
            serialize_i32(i32) -> $ok;
            serialize_i64(i64) -> $ok;
            serialize_u8(u8) -> $ok;
            serialize_u16(u16) -> $ok;
            serialize_u32(u32) -> $ok;
            serialize_u64(u64) -> $ok;
            serialize_f32(f32) -> $ok;
            serialize_f64(f64) -> $ok;
            serialize_char(char) -> $ok;
            serialize_str(&str) -> $ok;
            serialize_bytes(&[u8]) -> $ok;
            serialize_none() -> $ok;
            serialize_unit() -> $ok;
            serialize_unit_struct(&'static str) -> $ok;
            serialize_unit_variant(&'static str, u32, &'static str) -> $ok;
            serialize_tuple(usize) -> Impossible<$ok, Unsplit>;
            serialize_tuple_struct(&'static str, usize) -> Impossible<$ok, Unsplit>;
            serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<$ok, Unsplit>;
            serialize_map(Option<usize>) -> Impossible<$ok, Unsplit>;
            serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<$ok, Unsplit>;
        }

        fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<$ok, Unsplit> {
            Err(Unsplit::NotObject)
        }

        fn serialize_newtype_struct<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: &T,
        ) -> Result<$ok, Unsplit> {
            Err(Unsplit::NotObject)
        }

        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<$ok, Unsplit> {
            Err(Unsplit::NotObject)
        }
    };
}

impl<'s, 'a> Serializer for &'s mut Split<'a> {
    type Ok = ();
    type Error = Unsplit;
    type SerializeSeq = Impossible<(), Unsplit>;
    type SerializeTuple = Impossible<(), Unsplit>;
    type SerializeTupleStruct = Impossible<(), Unsplit>;
    type SerializeTupleVariant = Impossible<(), Unsplit>;
    type SerializeMap = Impossible<(), Unsplit>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Unsplit>;

    refuse_scalars!(());

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsplit> {
        Err(Unsplit::NotObject)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Unsplit> {
        Ok(self)
    }
}

impl SerializeStruct for &mut Split<'_> {
    type Ok = ();
    type Error = Unsplit;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsplit> {
        Ok(self.field(key, value)?)
    }

    fn end(self) -> Result<(), Unsplit> {
        Ok(())
    }
}

/// A list's items as text, for a form body's repeated key; anything but a
/// list is [`Unsplit::NotObject`].
struct ItemTexts(Vec<String>);

impl Serializer for ItemTexts {
    type Ok = Vec<String>;
    type Error = Unsplit;
    type SerializeSeq = Self;
    type SerializeTuple = Impossible<Vec<String>, Unsplit>;
    type SerializeTupleStruct = Impossible<Vec<String>, Unsplit>;
    type SerializeTupleVariant = Impossible<Vec<String>, Unsplit>;
    type SerializeMap = Impossible<Vec<String>, Unsplit>;
    type SerializeStruct = Impossible<Vec<String>, Unsplit>;
    type SerializeStructVariant = Impossible<Vec<String>, Unsplit>;

    refuse_scalars!(Vec<String>);

    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Unsplit> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Unsplit> {
        Err(Unsplit::NotObject)
    }
}

impl SerializeSeq for ItemTexts {
    type Ok = Vec<String>;
    type Error = Unsplit;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsplit> {
        self.0.push(text_of(value)?);
        Ok(())
    }

    fn end(self) -> Result<Vec<String>, Unsplit> {
        Ok(self.0)
    }
}
