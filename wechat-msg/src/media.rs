//! Files sent in requests (`type = "file"` in the spec), and the base64
//! their JSON form holds. Their wire form is written and read in
//! [`wire`](crate::wire), their JSON shape named in [`protocol`](crate::protocol).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A file to upload: its content type and bytes.
///
/// Over HTTP it is a multipart part; in JSON it is
/// `{"content_type": "image/png", "value": "<base64>"}` (HTTP form) or
/// `{"contentType": "image/png", "value": "<base64>"}` (cloud form, as
/// wx-server-sdk expects with the relay turning `value` into a Buffer):
/// the shape of [`protocol::FileJson`](crate::protocol::FileJson).
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
}

impl fmt::Debug for MediaFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaFile")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
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
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}
