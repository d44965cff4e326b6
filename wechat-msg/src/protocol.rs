//! The framing around the spec's bodies that both ends of a call share:
//! the status keys of every answer, the cloud call's envelope (the relay's
//! event and the `resp_data` it comes back in), and the JSON shapes of
//! files ([`MediaFile`](crate::MediaFile)) and binary answers
//! ([`MediaBytes`](crate::MediaBytes)).
//!
//! The client writes requests and reads answers with these; a server that
//! stands in for WeChat (the emulator) reads requests and writes answers
//! with the same items, so the two cannot drift apart.
//!
//! ```
//! use wechat_msg::Form;
//! use wechat_msg::protocol::{self, CloudEvent};
//!
//! assert_eq!(protocol::status_keys(Form::Cloud), ("errCode", "errMsg"));
//!
//! let data = serde_json::json!({"touser": "OPENID"});
//! let event = CloudEvent { api: "customerServiceMessage.send", data: &data, files: vec![] };
//! let json = serde_json::to_value(&event).unwrap();
//! assert_eq!(json, serde_json::json!({"api": "customerServiceMessage.send", "data": {"touser": "OPENID"}}));
//! assert_eq!(protocol::event_api(&json), Some("customerServiceMessage.send"));
//!
//! let file = protocol::FileJson { form: Form::Cloud, content_type: "image/png", bytes: b"PNG" };
//! assert_eq!(
//!     serde_json::to_value(&file).unwrap(),
//!     serde_json::json!({"contentType": "image/png", "value": "UE5H"})
//! );
//! ```

use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use serde_json::{Map, Value};

use crate::form::Form;

// ---- Status keys --------------------------------------------------------

/// The key of an answer's status code in the HTTP form.
pub const ERRCODE: &str = "errcode";

/// The key of an answer's status message in the HTTP form.
pub const ERRMSG: &str = "errmsg";

/// The key of an answer's status code in the cloud form.
pub const CLOUD_ERRCODE: &str = "errCode";

/// The key of an answer's status message in the cloud form.
pub const CLOUD_ERRMSG: &str = "errMsg";

/// The status keys as `(HTTP name, cloud name)` pairs: the code, then the
/// message.
pub const STATUS_KEYS: [(&str, &str); 2] = [(ERRCODE, CLOUD_ERRCODE), (ERRMSG, CLOUD_ERRMSG)];

/// The status keys of an answer in `form`: `(code, message)`, so
/// `("errcode", "errmsg")` over HTTP and `("errCode", "errMsg")` in a cloud
/// call's answer.
pub const fn status_keys(form: Form) -> (&'static str, &'static str) {
    match form {
        Form::Http => (ERRCODE, ERRMSG),
        Form::Cloud => (CLOUD_ERRCODE, CLOUD_ERRMSG),
    }
}

// ---- The cloud call's envelope -----------------------------------------

/// The server API that runs a cloud function (`POST`, with
/// `access_token`, [`INVOKE_ENV`] and [`INVOKE_NAME`] in the query and a
/// [`CloudEvent`] as the body).
pub const INVOKE_PATH: &str = "/tcb/invokecloudfunction";

/// The query key of [`INVOKE_PATH`] naming the cloud environment.
pub const INVOKE_ENV: &str = "env";

/// The query key of [`INVOKE_PATH`] naming the function to run.
pub const INVOKE_NAME: &str = "name";

/// The event's key holding the cloud-call name of the API
/// (`customerServiceMessage.send`).
pub const EVENT_API: &str = "api";

/// The event's key holding the request, in the cloud form.
pub const EVENT_DATA: &str = "data";

/// The event's key listing the top-level keys of the data that are files
/// whose [`FILE_BYTES`] is base64 for the relay to turn into a Buffer.
pub const EVENT_FILES: &str = "files";

/// The key of the invoke answer holding the function's return value (a
/// cloud-form answer `{errCode, errMsg, ...}`) as JSON text.
pub const RESP_DATA: &str = "resp_data";

/// The relay's event, the body of an [`INVOKE_PATH`] call:
/// `{"api": name, "data": {...}, "files": [keys]}`, `files` left out when
/// empty. Serialize it to write the body.
#[derive(Debug)]
pub struct CloudEvent<'a, B: ?Sized> {
    /// The cloud-call name of the API ([`EVENT_API`]).
    pub api: &'a str,
    /// The request in the cloud form ([`EVENT_DATA`]).
    pub data: &'a B,
    /// The top-level keys of `data` that are files ([`EVENT_FILES`]).
    pub files: Vec<&'a str>,
}

impl<B: Serialize + ?Sized> Serialize for CloudEvent<'_, B> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut event = serializer.serialize_struct("CloudEvent", 3)?;
        event.serialize_field(EVENT_API, self.api)?;
        event.serialize_field(EVENT_DATA, self.data)?;
        if self.files.is_empty() {
            event.skip_field(EVENT_FILES)?;
        } else {
            event.serialize_field(EVENT_FILES, &self.files)?;
        }
        event.end()
    }
}

/// The API an event names: its [`EVENT_API`] when that is a string.
pub fn event_api(event: &Value) -> Option<&str> {
    event.get(EVENT_API).and_then(Value::as_str)
}

/// The request an event carries: its [`EVENT_DATA`] when that is an
/// object. The relay takes anything else (or nothing) as `{}`.
pub fn event_data(event: &Value) -> Option<&Map<String, Value>> {
    event.get(EVENT_DATA).and_then(Value::as_object)
}

/// The file keys an event lists: the strings of its [`EVENT_FILES`] array,
/// as the relay reads them (anything else is no file).
pub fn event_files(event: &Value) -> Vec<&str> {
    event
        .get(EVENT_FILES)
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The function's return value in an invoke answer: its [`RESP_DATA`] text
/// read as JSON; `None` when it is missing, not a string or not JSON.
pub fn resp_data(answer: &Value) -> Option<Value> {
    answer
        .get(RESP_DATA)
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str(text).ok())
}

/// The invoke answer of a function that returned `resp`:
/// `{"errcode": 0, "errmsg": "ok", "resp_data": "<resp as JSON text>"}`,
/// what [`resp_data`] reads back.
pub fn invoke_answer(resp: &Value) -> Value {
    let mut object = Map::new();
    object.insert(ERRCODE.to_owned(), Value::from(0));
    object.insert(ERRMSG.to_owned(), Value::from("ok"));
    object.insert(RESP_DATA.to_owned(), Value::from(resp.to_string()));
    Value::Object(object)
}

// ---- Files and binary answers ------------------------------------------

/// The key of a file's or a binary answer's content type in `form`:
/// `content_type` over HTTP, `contentType` in the cloud form.
pub const fn content_type_key(form: Form) -> &'static str {
    match form {
        Form::Http => "content_type",
        Form::Cloud => "contentType",
    }
}

/// The key of a file's bytes, base64, in both forms: a request's file is
/// `{"content_type"|"contentType": ..., "value": "<base64>"}`.
pub const FILE_BYTES: &str = "value";

/// The key of a binary answer's bytes, base64, in both forms: a binary
/// answer in JSON is `{"content_type"|"contentType": ..., "buffer": "<base64>"}`.
pub const BUFFER_BYTES: &str = "buffer";

/// A file ([`MediaFile`](crate::MediaFile)) in JSON, in `form`:
/// `{content_type_key(form): content_type, "value": base64(bytes)}`.
/// Serialize it to write the shape.
#[derive(Clone, Copy, Debug)]
pub struct FileJson<'a> {
    /// The form whose keys to write.
    pub form: Form,
    /// The file's content type (`image/png`).
    pub content_type: &'a str,
    /// The file's bytes, written as standard base64.
    pub bytes: &'a [u8],
}

impl Serialize for FileJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(content_type_key(self.form), self.content_type)?;
        map.serialize_entry(FILE_BYTES, &encode_base64(self.bytes))?;
        map.end()
    }
}

/// [`FileJson`] as a JSON value.
pub fn file_value(form: Form, content_type: &str, bytes: &[u8]) -> Value {
    let mut object = Map::new();
    object.insert(content_type_key(form).to_owned(), Value::from(content_type));
    object.insert(FILE_BYTES.to_owned(), Value::from(encode_base64(bytes)));
    Value::Object(object)
}

/// A file's content type and bytes from its JSON in `form`, read
/// leniently: each is `None` when it is absent or not a string, the bytes
/// also when they are not base64. (A request's file is read strictly, with
/// the path of what is wrong, by its [`Wire`](crate::Wire) impl.)
pub fn read_file(file: &Value, form: Form) -> (Option<&str>, Option<Vec<u8>>) {
    let content_type = file.get(content_type_key(form)).and_then(Value::as_str);
    let bytes = file
        .get(FILE_BYTES)
        .and_then(Value::as_str)
        .and_then(decode_base64);
    (content_type, bytes)
}

/// A binary answer ([`MediaBytes`](crate::MediaBytes)) in JSON, in `form`:
/// `{content_type_key(form): content_type, "buffer": base64(bytes)}`.
pub fn buffer_value(form: Form, content_type: String, bytes: &[u8]) -> Value {
    let mut object = Map::new();
    object.insert(content_type_key(form).to_owned(), Value::from(content_type));
    object.insert(BUFFER_BYTES.to_owned(), Value::from(encode_base64(bytes)));
    Value::Object(object)
}

/// Encodes bytes as standard base64, as [`FILE_BYTES`] and [`BUFFER_BYTES`]
/// hold them.
pub fn encode_base64(bytes: &[u8]) -> String {
    crate::media::encode_base64(bytes)
}

/// Decodes the base64 of [`FILE_BYTES`] or [`BUFFER_BYTES`]: standard
/// alphabet, padding optional. `None` when `text` is not base64.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    crate::media::decode_base64(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_event_leaves_out_no_files_and_reads_back_as_the_relay_reads_it() {
        let data = json!({"touser": "OPENID"});
        let event = CloudEvent {
            api: "customerServiceMessage.uploadTempMedia",
            data: &data,
            files: vec!["media"],
        };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(
            text,
            r#"{"api":"customerServiceMessage.uploadTempMedia","data":{"touser":"OPENID"},"files":["media"]}"#
        );
        let read: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event_api(&read), Some(event.api));
        assert_eq!(event_data(&read), data.as_object());
        assert_eq!(event_files(&read), ["media"]);

        let odd = json!({"api": 1, "data": [], "files": ["a", 2, "b"]});
        assert_eq!(event_api(&odd), None);
        assert_eq!(event_data(&odd), None);
        assert_eq!(event_files(&odd), ["a", "b"]);
        assert!(event_files(&json!({"files": "a"})).is_empty());
    }

    #[test]
    fn resp_data_is_json_text() {
        let answer = json!({"errcode": 0, "errmsg": "ok", "resp_data": "{\"errCode\":0}"});
        assert_eq!(resp_data(&answer), Some(json!({"errCode": 0})));
        assert_eq!(resp_data(&json!({"resp_data": "not json"})), None);
        assert_eq!(resp_data(&json!({"resp_data": {"errCode": 0}})), None);
        assert_eq!(resp_data(&json!({})), None);
        let resp = json!({"errCode": 0, "errMsg": "openapi.x.y:ok"});
        assert_eq!(resp_data(&invoke_answer(&resp)), Some(resp));
    }

    #[test]
    fn files_and_buffers_name_their_keys_by_form() {
        for form in Form::ALL {
            let file = FileJson {
                form,
                content_type: "image/png",
                bytes: b"\x89PNG",
            };
            let value = serde_json::to_value(file).unwrap();
            let object = value.as_object().unwrap();
            assert_eq!(object[content_type_key(form)], "image/png");
            let bytes = decode_base64(object[FILE_BYTES].as_str().unwrap()).unwrap();
            assert_eq!(bytes, b"\x89PNG");
            assert_eq!(file_value(form, "image/png", b"\x89PNG"), value);
            let (content_type, bytes) = read_file(&value, form);
            assert_eq!(content_type, Some("image/png"));
            assert_eq!(bytes.as_deref(), Some(&b"\x89PNG"[..]));
            assert_eq!(read_file(&json!({"value": "!"}), form), (None, None));

            let buffer = buffer_value(form, "audio/amr".to_owned(), b"#!AMR");
            let keys: Vec<&String> = buffer.as_object().unwrap().keys().collect();
            assert_eq!(keys, [content_type_key(form), BUFFER_BYTES]);
            assert_eq!(
                decode_base64(buffer[BUFFER_BYTES].as_str().unwrap()).unwrap(),
                b"#!AMR"
            );
        }
        assert_eq!(content_type_key(Form::Http), "content_type");
        assert_eq!(content_type_key(Form::Cloud), "contentType");
        // Padding is optional.
        assert_eq!(decode_base64("UE5H").unwrap(), b"PNG");
        assert_eq!(decode_base64("UA").unwrap(), b"P");
        assert_eq!(decode_base64("UA==").unwrap(), b"P");
        assert!(decode_base64("not base64!").is_none());
    }

    #[test]
    fn status_keys_by_form() {
        assert_eq!(status_keys(Form::Http), (ERRCODE, ERRMSG));
        assert_eq!(status_keys(Form::Cloud), (CLOUD_ERRCODE, CLOUD_ERRMSG));
        // Not each other's by wx-server-sdk's rules: `errCode` is not
        // `err_code` over HTTP.
        assert_eq!(STATUS_KEYS, [("errcode", "errCode"), ("errmsg", "errMsg")]);
    }
}
