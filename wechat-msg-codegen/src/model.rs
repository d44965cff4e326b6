//! The validated spec. Every reference is resolved and every name checked, so
//! generation cannot fail.

/// The whole API.
#[derive(Debug, Clone)]
pub struct Model {
    /// Endpoints, in file order.
    pub endpoints: Vec<Endpoint>,
    /// Object types, in file order.
    pub objects: Vec<Object>,
    /// String enums, in file order.
    pub enums: Vec<StrEnum>,
    /// The files read, as absolute paths (for rebuild tracking).
    pub files: Vec<std::path::PathBuf>,
}

/// One endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Cloud-call name: `customerServiceMessage.send`.
    pub name: String,
    /// Rust stem: `CustomerServiceMessageSend` (the errcode enum is `{rust}Errcode`).
    pub rust: String,
    /// `GET` or `POST`.
    pub method: Method,
    /// HTTP path.
    pub path: String,
    /// Description.
    pub doc: String,
    /// The request type (index into [`Model::objects`]).
    pub request: usize,
    /// How the HTTP body is encoded.
    pub body: BodyKind,
    /// What a success answers.
    pub answer: AnswerKind,
    /// Set when retired.
    pub deprecated: Option<Deprecated>,
    /// Shared and own codes, sorted by code.
    pub errcodes: Vec<Errcode>,
}

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
}

/// HTTP body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// JSON object.
    Json,
    /// multipart/form-data.
    Multipart,
}

/// What a success answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// Only errcode/errmsg.
    Ack,
    /// Bytes.
    Binary,
    /// An object type (index into [`Model::objects`]).
    Object(usize),
}

/// A retirement note.
#[derive(Debug, Clone)]
pub struct Deprecated {
    /// Date retired.
    pub since: Option<String>,
    /// Successor's cloud-call name.
    pub successor: Option<String>,
    /// Why.
    pub note: String,
}

/// One errcode.
#[derive(Debug, Clone)]
pub struct Errcode {
    /// Numeric code.
    pub code: i64,
    /// Rust variant name.
    pub rust: String,
    /// Documented meaning.
    pub description: String,
    /// Treatment.
    pub class: ErrorClass,
}

/// How an errcode is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Retried with backoff.
    Retry,
    /// Token refreshed, call retried once.
    RefreshToken,
    /// Never retried.
    Permanent,
}

/// An object type: a struct on the Rust side, a JSON object on the wire.
#[derive(Debug, Clone)]
pub struct Object {
    /// Rust name.
    pub name: String,
    /// Description.
    pub doc: String,
    /// Fields in spec order.
    pub fields: Vec<Field>,
    /// The tagged union, written after the fields.
    pub union: Option<Union>,
    /// The endpoint whose request this type is (index into
    /// [`Model::endpoints`]); `None` for payloads, answers and shared types.
    pub endpoint: Option<usize>,
}

/// A field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Rust field name.
    pub rust: String,
    /// HTTP (snake_case) key.
    pub http: String,
    /// Cloud-call (camelCase) key.
    pub cloud: String,
    /// Type.
    pub ty: Ty,
    /// Must be present.
    pub required: bool,
    /// Meaning of the value, if it is one the server checks.
    pub role: Option<Role>,
    /// Where it travels over HTTP (top-level request fields only).
    pub location: Location,
    /// Description.
    pub doc: String,
}

impl Field {
    /// The key in `form`.
    pub fn key(&self, form: Form) -> &str {
        match form {
            Form::Http => &self.http,
            Form::Cloud => &self.cloud,
        }
    }
}

/// A wire form, as the generator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// snake_case HTTP.
    Http,
    /// camelCase cloud call.
    Cloud,
}

impl Form {
    /// Both.
    pub const ALL: [Form; 2] = [Form::Http, Form::Cloud];
}

/// Field types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ty {
    /// UTF-8 string.
    String,
    /// 64-bit integer.
    Integer,
    /// Boolean.
    Bool,
    /// A file (multipart part / `{content_type, value}`).
    File,
    /// An object type.
    Object(usize),
    /// A string enum.
    Enum(usize),
    /// Map keyed by user data; keys never converted.
    Map(Box<Ty>),
    /// Array.
    List(Box<Ty>),
}

/// Server-checked meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// OpenID.
    Openid,
    /// Template ID.
    TemplateId,
    /// form_id / prepay_id.
    FormId,
    /// media_id.
    MediaId,
    /// A Unix time the server sets (answers).
    Timestamp,
}

/// Where a field travels over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// Body.
    Body,
    /// Query string.
    Query,
}

/// A tagged union: a tag field whose value names the one payload sent, under
/// a key equal to the tag value.
#[derive(Debug, Clone)]
pub struct Union {
    /// Rust field name holding the enum.
    pub rust_field: String,
    /// Rust enum name.
    pub enum_name: String,
    /// Tag key over HTTP.
    pub tag_http: String,
    /// Tag key in the cloud call.
    pub tag_cloud: String,
    /// Description.
    pub doc: String,
    /// Variants.
    pub variants: Vec<Variant>,
}

impl Union {
    /// The tag key in `form`.
    pub fn tag(&self, form: Form) -> &str {
        match form {
            Form::Http => &self.tag_http,
            Form::Cloud => &self.tag_cloud,
        }
    }
}

/// A union variant.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Tag value, also the HTTP payload key.
    pub value: String,
    /// Cloud payload key.
    pub cloud: String,
    /// Rust variant name.
    pub rust: String,
    /// Payload object type.
    pub payload: usize,
    /// Description.
    pub doc: String,
}

impl Variant {
    /// The payload key in `form`.
    pub fn key(&self, form: Form) -> &str {
        match form {
            Form::Http => &self.value,
            Form::Cloud => &self.cloud,
        }
    }
}

/// A string enum.
#[derive(Debug, Clone)]
pub struct StrEnum {
    /// Rust name.
    pub name: String,
    /// Description.
    pub doc: String,
    /// `(wire, rust, doc)` in spec order.
    pub values: Vec<EnumValue>,
}

/// A string enum's value.
#[derive(Debug, Clone)]
pub struct EnumValue {
    /// Wire string.
    pub wire: String,
    /// Rust variant.
    pub rust: String,
    /// Description.
    pub doc: String,
}
