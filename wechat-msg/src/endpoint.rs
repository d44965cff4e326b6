//! What every generated endpoint exposes: its metadata, its errcode enum and
//! the shape of its answer.

use std::fmt;

use serde_json::Value;

use crate::protocol;
use crate::wire::{Cx, Form, Wire, WireError, WireErrorKind};

/// A request type that is sent to one endpoint. Implemented by generated code.
pub trait Endpoint: Wire + Send + Sync + 'static {
    /// What a successful call answers.
    type Answer: Answer;
    /// The endpoint's errcode enum.
    type Errcode: Errcode;
    /// Names, method, path and tables of the endpoint.
    const INFO: &'static EndpointInfo;
}

/// Static description of an endpoint, generated from the spec.
///
/// Not `#[non_exhaustive]`: `wechat_msg::api!` builds it in the crate that
/// calls the macro, which may be any crate.
#[derive(Debug)]
pub struct EndpointInfo {
    /// The cloud-call name: `customerServiceMessage.send`.
    pub name: &'static str,
    /// The Rust name of the request type.
    pub request_type: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The HTTP path, without the query: `/cgi-bin/message/custom/send`.
    pub path: &'static str,
    /// The spec's description.
    pub doc: &'static str,
    /// Set when the endpoint is retired.
    pub deprecated: Option<Deprecation>,
    /// How the endpoint is authorized: with an access_token (every endpoint
    /// in [`ENDPOINTS`](crate::ENDPOINTS)) or not at all (the token
    /// endpoints, in [`AUTH_ENDPOINTS`](crate::AUTH_ENDPOINTS)).
    pub auth: Auth,
    /// Whether the endpoint can be called as a cloud call (through
    /// WeChat Cloud's open API and the relay).
    pub cloud: bool,
    /// How the HTTP request body is encoded.
    pub body: BodyKind,
    /// What a successful call answers.
    pub answer: AnswerKind,
    /// The top-level fields of the request, in spec order.
    pub fields: &'static [FieldInfo],
    /// The top-level fields of a JSON answer beyond errcode and errmsg
    /// (empty for [`AnswerKind::Ack`] and [`AnswerKind::Binary`]); their
    /// `location` is [`Location::Body`] and their errcodes are `None`.
    pub answer_fields: &'static [FieldInfo],
    /// Fields anywhere in the request with a known meaning, by HTTP path.
    pub roles: &'static [RoleInfo],
    /// Every errcode the endpoint documents (shared table included), by code.
    pub errcodes: &'static [ErrcodeInfo],
    /// Parses a body in one form and writes it in the other (or the same) form.
    pub convert: fn(&Value, Form, Form) -> Result<Value, WireError>,
    /// Converts a successful JSON answer from one form to another, at every
    /// depth: the generated reader and writer of the answer type rename
    /// every key the spec names (`errcode`/`errCode` and `errmsg`/`errMsg`
    /// included), keys the spec does not name are renamed by wx-server-sdk's
    /// rule ([`crate::sdk`]), and map keys (user data) are kept. Fails when
    /// the answer does not have the type's shape (a missing required field,
    /// a value of the wrong type), as [`Answer::from_json`] does. A binary
    /// endpoint's JSON answer (`{content_type, buffer}`) and an ack convert
    /// by the rule alone.
    pub convert_answer: fn(&Value, Form, Form) -> Result<Value, WireError>,
    /// Parses a body in a form into the typed request, its type erased:
    /// hold it (and drop the body) to write it in any form later, with any
    /// serde serializer, with no second tree in between.
    pub parse: ParseFn,
}

/// The type of [`EndpointInfo::parse`].
pub type ParseFn = fn(&Value, Form) -> Result<Box<dyn AnyRequest>, WireError>;

/// A request read by its endpoint's generated parser, its type erased (what
/// [`EndpointInfo::parse`] gives).
pub trait AnyRequest: Send + Sync + fmt::Debug {
    /// The request in `form`, for any serde serializer
    /// (`serde_json::to_writer(out, &*request.in_form(Form::Cloud))`).
    fn in_form(&self, form: Form) -> Box<dyn erased_serde::Serialize + '_>;

    /// The file of the top-level file field whose HTTP key is `key`, if
    /// present (what goes to a multipart part as bytes).
    fn media(&self, key: &str) -> Option<&crate::media::MediaFile>;
}

impl<T: Wire + Send + Sync + fmt::Debug> AnyRequest for T {
    fn in_form(&self, form: Form) -> Box<dyn erased_serde::Serialize + '_> {
        Box::new(crate::Wired(form, self))
    }

    fn media(&self, key: &str) -> Option<&crate::media::MediaFile> {
        Wire::media(self, key)
    }
}

/// [`EndpointInfo::parse`] of a request type.
#[doc(hidden)]
pub fn parse_any<T: Wire + Send + Sync + fmt::Debug + 'static>(
    value: &Value,
    form: Form,
) -> Result<Box<dyn AnyRequest>, WireError> {
    Ok(Box::new(T::from_value(value, form)?))
}

impl EndpointInfo {
    /// The errcode entry for `code`, if the endpoint documents it.
    pub fn errcode(&self, code: i64) -> Option<&'static ErrcodeInfo> {
        self.errcodes
            .binary_search_by_key(&code, |e| e.code)
            .ok()
            .map(|i| &self.errcodes[i])
    }

    /// The namespace and method of the cloud-call name
    /// (`("customerServiceMessage", "send")`).
    pub fn cloud_parts(&self) -> (&'static str, &'static str) {
        self.name.split_once('.').unwrap_or((self.name, ""))
    }
}

/// An HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

impl Method {
    /// `"GET"` or `"POST"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A retired endpoint: when, why, and what replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deprecation {
    /// The date WeChat retired it (`2020-01-10`), if known.
    pub since: Option<&'static str>,
    /// The cloud-call name of the successor, if any.
    pub successor: Option<&'static str>,
    /// Why, in a sentence.
    pub note: &'static str,
}

/// How an endpoint is authorized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// The client adds `access_token` to the query.
    AccessToken,
    /// No token: the endpoint takes the app's credentials (the token
    /// endpoints themselves).
    None,
}

/// How an HTTP request body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyKind {
    /// A JSON object.
    Json,
    /// `multipart/form-data`, one part per body field.
    Multipart,
    /// `application/x-www-form-urlencoded`: one `key=value` pair per body
    /// field, a list as the same key repeated (`kidList=1&kidList=2`).
    Form,
}

impl BodyKind {
    /// The kind's name, as the spec's `body` key writes it: `json`,
    /// `multipart` or `form`.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::Json => "json",
            BodyKind::Multipart => "multipart",
            BodyKind::Form => "form",
        }
    }
}

/// What a successful call answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerKind {
    /// `{errcode: 0, errmsg: "ok"}` and nothing else of use.
    Ack,
    /// A JSON object with fields of its own.
    Json,
    /// Raw bytes (a file); errors still come as JSON.
    Binary,
}

impl AnswerKind {
    /// The kind's name: `ack`, `json` or `binary`.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Ack => "ack",
            AnswerKind::Json => "json",
            AnswerKind::Binary => "binary",
        }
    }
}

/// Where a top-level request field travels over HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// In the body (a JSON key, or a multipart part).
    Body,
    /// In the URL's query string.
    Query,
}

/// A top-level field of a request or an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldInfo {
    /// The HTTP (snake_case) name.
    pub http: &'static str,
    /// The cloud-call (camelCase) name.
    pub cloud: &'static str,
    /// What the value is, as the spec types it.
    pub kind: FieldKind,
    /// Where it goes over HTTP.
    pub location: Location,
    /// Whether it is a file (`{content_type, value}` in JSON, a file part in
    /// multipart): `kind` is [`FieldKind::File`].
    pub file: bool,
    /// Whether it is a list (in a form body: the key repeated, once per
    /// item): `kind` is a [`FieldKind::List`].
    pub list: bool,
    /// For a list in the query: the separator its items are joined with
    /// (`ids=2,616`).
    pub join: Option<&'static str>,
    /// Whether it must be present.
    pub required: bool,
    /// What the value means, when the server checks or sets it.
    pub role: Option<Role>,
    /// The errcode a server answers when the field is missing or empty.
    pub errcode_missing: Option<i64>,
    /// The errcode a server answers when the field's value is not one its
    /// type allows.
    pub errcode_invalid: Option<i64>,
}

/// What a field's value is: the spec's field type (`api-spec/README.md`,
/// "Field types"), so a server or a tool can read a value that arrives as
/// text (a query value, a form body's value) as what it is, without
/// trying types in turn.
///
/// ```
/// use wechat_msg::meta::FieldKind;
///
/// let info = wechat_msg::meta::endpoint("subscribeMessage.addTemplate").unwrap();
/// let kid_list = info.fields.iter().find(|f| f.http == "kidList").unwrap();
/// assert_eq!(kid_list.kind, FieldKind::List(&FieldKind::Integer));
/// assert_eq!(kid_list.kind.item(), &FieldKind::Integer);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldKind {
    /// `string`: a JSON string.
    String,
    /// `integer`: a JSON number without a fraction (`i64`).
    Integer,
    /// `bool`: `true` or `false`.
    Bool,
    /// A string enum (`[[enum]]`): a JSON string, one of its values.
    Enum,
    /// `file`: a multipart file part; in JSON `{content_type, value}`.
    File,
    /// An object type (`[[type]]`), with or without a union: a JSON object
    /// whose keys are the spec's, different in each form.
    Object,
    /// `map<T>`: a JSON object keyed by user data (template keywords),
    /// whose keys are the same in both forms; the kind of its values.
    Map(&'static FieldKind),
    /// `list<T>`: a JSON array (in a form body, the key repeated; with
    /// [`FieldInfo::join`], one string); the kind of its items.
    List(&'static FieldKind),
}

impl FieldKind {
    /// The kind of a list's items or a map's values; the kind itself for
    /// anything else.
    pub fn item(&self) -> &FieldKind {
        match self {
            FieldKind::List(item) | FieldKind::Map(item) => item,
            other => other,
        }
    }

    /// Whether a value of this kind is a JSON number or boolean, which
    /// arrives as text in a query string or a form body.
    pub fn is_number_or_bool(&self) -> bool {
        matches!(self, FieldKind::Integer | FieldKind::Bool)
    }
}

// The variants are the roles a spec's fields may have (`role = "openid"` ->
// `Openid`), listed once, by the generator.
wechat_msg_macros::__role_enum! {
    /// The meaning of a field's value, for those a server checks against its own
    /// records (the emulator uses these).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum Role {}
}

/// A field with a [`Role`], by dotted HTTP path (`weapp_template_msg.form_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoleInfo {
    /// The dotted HTTP path.
    pub path: &'static str,
    /// What the value means.
    pub role: Role,
}

/// How the client treats an errcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Transient: retried with backoff.
    Retry,
    /// The access_token is bad: refresh once and retry once.
    RefreshToken,
    /// Never retried.
    Permanent,
}

impl ErrorClass {
    /// The class's snake_case name: `"retry"`, `"refresh_token"` or
    /// `"permanent"`, as reports and listings print it.
    ///
    /// ```
    /// use wechat_msg::ErrorClass;
    ///
    /// assert_eq!(ErrorClass::RefreshToken.as_str(), "refresh_token");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Retry => "retry",
            ErrorClass::RefreshToken => "refresh_token",
            ErrorClass::Permanent => "permanent",
        }
    }
}

/// One row of an endpoint's errcode table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrcodeInfo {
    /// The numeric code.
    pub code: i64,
    /// The Rust variant name.
    pub name: &'static str,
    /// The documented meaning.
    pub description: &'static str,
    /// How it is treated.
    pub class: ErrorClass,
}

/// An endpoint's errcode enum. Implemented by generated code.
pub trait Errcode: fmt::Debug + fmt::Display + Clone + Send + Sync + 'static {
    /// The enum for an errcode and errmsg WeChat answered; a code the spec
    /// does not list becomes the catch-all variant, keeping both.
    fn from_code(code: i64, errmsg: &str) -> Self;
    /// The numeric code.
    fn code(&self) -> i64;
    /// The spec's table row, `None` for a code the spec does not list.
    fn info(&self) -> Option<&'static ErrcodeInfo>;

    /// How the client treats it; unknown codes are permanent.
    fn class(&self) -> ErrorClass {
        self.info().map_or(ErrorClass::Permanent, |i| i.class)
    }
    /// Whether a retry with backoff may succeed (`-1` system busy).
    fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retry
    }
    /// Whether the access_token used is no longer valid (40001, 40014, 42001).
    fn invalidates_token(&self) -> bool {
        self.class() == ErrorClass::RefreshToken
    }
    /// The documented meaning, or `""` for an unknown code.
    fn description(&self) -> &'static str {
        self.info().map_or("", |i| i.description)
    }
}

/// An errcode of an endpoint known only at run time, from its
/// [`EndpointInfo::errcodes`] table: what
/// [`Client::send_value`](crate::Client::send_value) reports, and
/// what any endpoint's errcode becomes when an error is erased
/// ([`client::Error::erase`](crate::client::Error::erase)).
///
/// ```
/// use wechat_msg::{AnyErrcode, CustomerServiceMessageSendErrcode, Errcode, ErrorClass};
///
/// let code = AnyErrcode::of(&CustomerServiceMessageSendErrcode::SystemBusy);
/// assert_eq!(code.code(), -1);
/// assert_eq!(code.name(), Some("SystemBusy"));
/// assert_eq!(code.class(), ErrorClass::Retry);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnyErrcode {
    code: i64,
    info: Option<&'static ErrcodeInfo>,
}

impl AnyErrcode {
    /// The errcode `code` of `endpoint`.
    pub fn new(endpoint: &EndpointInfo, code: i64) -> Self {
        AnyErrcode {
            code,
            info: endpoint.errcode(code),
        }
    }

    /// The same errcode as `errcode`, erased: its code and table row.
    pub fn of<C: Errcode>(errcode: &C) -> Self {
        AnyErrcode {
            code: errcode.code(),
            info: errcode.info(),
        }
    }

    /// The Rust variant name in the spec (`InvalidOpenid`), if listed.
    pub fn name(&self) -> Option<&'static str> {
        self.info.map(|i| i.name)
    }
}

impl Errcode for AnyErrcode {
    /// A code without its endpoint: no table row.
    fn from_code(code: i64, _errmsg: &str) -> Self {
        AnyErrcode { code, info: None }
    }

    fn code(&self) -> i64 {
        self.code
    }

    fn info(&self) -> Option<&'static ErrcodeInfo> {
        self.info
    }
}

impl fmt::Display for AnyErrcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.info {
            Some(info) => write!(f, "{} ({}): {}", info.name, info.code, info.description),
            None => write!(f, "unknown errcode {}", self.code),
        }
    }
}

/// What a successful call answers, parsed.
pub trait Answer: Sized + Send + 'static {
    /// Reads a successful JSON answer (the errcode fields already checked).
    fn from_json(value: &Value, form: Form) -> Result<Self, WireError>;
    /// Reads a successful JSON answer from its text, as
    /// [`Answer::from_json`] reads it from a value (same result, same
    /// errors). Generated answer types read the text straight, with no
    /// [`Value`] in between.
    fn from_text(text: &str, form: Form) -> Result<Self, WireError> {
        Self::from_json(&crate::wire::parse_json(text.as_bytes())?, form)
    }
    /// [`Answer::from_text`] of a text already known to be one JSON object
    /// with no key given twice at any depth (what the client checks before
    /// it keeps a success as text): an answer that needs nothing more than
    /// that ([`Ack`]) skips reading it again.
    #[doc(hidden)]
    fn from_checked_text(text: &str, form: Form) -> Result<Self, WireError> {
        Self::from_text(text, form)
    }
    /// Reads a successful binary answer. Only [`MediaBytes`] accepts one.
    fn from_bytes(content_type: &str, bytes: Vec<u8>) -> Option<Self> {
        let _ = (content_type, bytes);
        None
    }
}

/// The answer of endpoints that answer only `{errcode: 0, errmsg: "ok"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ack;

impl Answer for Ack {
    fn from_json(value: &Value, form: Form) -> Result<Self, WireError> {
        Cx::new(form, false).object(value)?;
        Ok(Ack)
    }

    fn from_checked_text(_text: &str, _form: Form) -> Result<Self, WireError> {
        Ok(Ack)
    }

    fn from_text(text: &str, form: Form) -> Result<Self, WireError> {
        match crate::wire::read_text::<crate::wire::SkipObject>(text) {
            Some(crate::wire::SkipObject) => Ok(Ack),
            None => Self::from_json(&crate::wire::parse_json(text.as_bytes())?, form),
        }
    }
}

/// A binary answer: a file's bytes and content type.
#[derive(Clone, PartialEq, Eq)]
pub struct MediaBytes {
    /// The `Content-Type` WeChat gave.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl fmt::Debug for MediaBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MediaBytes")
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl Answer for MediaBytes {
    /// The cloud call answers `{contentType, buffer}` with the buffer as base64
    /// (the relay encodes it); the HTTP answer is never JSON on success.
    fn from_json(value: &Value, form: Form) -> Result<Self, WireError> {
        let mut cx = Cx::new(form, false);
        let object = cx.object(value)?;
        let (type_key, bytes_key) = (protocol::content_type_key(form), protocol::BUFFER_BYTES);
        let content_type: String = match object.get(type_key) {
            Some(v) => cx.field(type_key, v)?,
            None => return Err(cx.missing(type_key)),
        };
        let encoded: String = match object.get(bytes_key) {
            Some(v) => cx.field(bytes_key, v)?,
            None => return Err(cx.missing(bytes_key)),
        };
        let bytes = protocol::decode_base64(&encoded)
            .ok_or_else(|| cx.error_at(bytes_key, WireErrorKind::Base64))?;
        Ok(MediaBytes {
            content_type,
            bytes,
        })
    }

    fn from_bytes(content_type: &str, bytes: Vec<u8>) -> Option<Self> {
        Some(MediaBytes {
            content_type: content_type.to_owned(),
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes_have_snake_case_names() {
        assert_eq!(ErrorClass::Retry.as_str(), "retry");
        assert_eq!(ErrorClass::RefreshToken.as_str(), "refresh_token");
        assert_eq!(ErrorClass::Permanent.as_str(), "permanent");
    }
}
