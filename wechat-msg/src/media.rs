//! Files sent in requests (`type = "file"` in the spec).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use crate::wire::{Cx, Form, Wire, WireError, WireErrorKind};

/// A file to upload: its content type and bytes.
///
/// Over HTTP it is a multipart part; in JSON it is
/// `{"content_type": "image/png", "value": "<base64>"}` (HTTP form) or
/// `{"contentType": "image/png", "value": "<base64>"}` (cloud form, as
/// wx-server-sdk expects with the relay turning `value` into a Buffer).
#[derive(Clone, PartialEq, Eq)]
pub struct MediaFile {
    content_type: String,
    bytes: Vec<u8>,
}

impl MediaFile {
    /// A file of `content_type` (`image/png`) holding `bytes`.
    pub fn new(content_type: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        MediaFile {
            content_type: content_type.into(),
            bytes: bytes.into(),
        }
    }

    /// The content type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A file name for the multipart part, from the content type
    /// (`media.png`); WeChat reads the type from it.
    pub fn file_name(&self) -> String {
        let ext = match self.content_type.as_str() {
            "image/png" => "png",
            "image/jpeg" | "image/jpg" => "jpg",
            "image/gif" => "gif",
            "audio/amr" => "amr",
            "audio/mpeg" => "mp3",
            "video/mp4" => "mp4",
            _ => "bin",
        };
        format!("media.{ext}")
    }

    fn keys(form: Form) -> (&'static str, &'static str) {
        match form {
            Form::Http => ("content_type", "value"),
            Form::Cloud => ("contentType", "value"),
        }
    }
}

impl fmt::Debug for MediaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaFile")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Wire for MediaFile {
    fn write_wire<S: Serializer>(&self, form: Form, serializer: S) -> Result<S::Ok, S::Error> {
        let (type_key, value_key) = Self::keys(form);
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(type_key, &self.content_type)?;
        map.serialize_entry(value_key, &STANDARD.encode(&self.bytes))?;
        map.end()
    }

    fn read_wire(value: &Value, cx: &mut Cx) -> Result<Self, WireError> {
        let (type_key, value_key) = Self::keys(cx.form());
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
        Ok(MediaFile {
            content_type: content_type.ok_or_else(|| cx.missing(type_key))?,
            bytes: bytes.ok_or_else(|| cx.missing(value_key))?,
        })
    }
}

/// Decodes standard base64 (padding optional).
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok().or_else(|| {
        base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text)
            .ok()
    })
}

/// Encodes bytes as standard base64.
#[cfg(feature = "client")]
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}
