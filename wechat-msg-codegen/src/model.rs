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
    /// Message pushes: what WeChat sends to the developer's server.
    pub push: PushModel,
    /// Template keyword types and their value rules, in file order.
    pub keywords: Vec<Keyword>,
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
    /// How the endpoint is authorized (`auth`).
    pub auth: Auth,
    /// Whether the endpoint has a cloud-call form (`cloud`).
    pub cloud: bool,
    /// The stem of the errcode enum: the endpoint's own `rust`, or that of
    /// the endpoint named by `errcodes_of`, whose enum it shares.
    pub errcode_stem: String,
    /// Whether the shared errcode table is part of the enum
    /// (`shared_errcodes`).
    pub shared_errcodes: bool,
    /// Shared and own codes, sorted by code.
    pub errcodes: Vec<Errcode>,
}

impl Endpoint {
    /// Whether this endpoint defines its errcode enum (rather than sharing
    /// another endpoint's through `errcodes_of`).
    pub fn owns_errcodes(&self) -> bool {
        self.errcode_stem == self.rust
    }
}

/// How an endpoint is authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The client adds `access_token` to the query (the default).
    AccessToken,
    /// No token: the endpoint is called with the app's credentials (the
    /// token endpoints themselves).
    None,
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
    /// application/x-www-form-urlencoded (a list as repeated keys).
    Form,
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

/// The name of the hidden module holding the builder state of the type
/// `name`: `CustomerServiceMessage` -> `customer_service_message_builder`.
/// It shares the namespace of the generated types, so validation reserves it.
pub fn builder_module(name: &str) -> String {
    format!("{}_builder", heck::ToSnakeCase::to_snake_case(name))
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
    /// For a `map<T>` of template keywords (`keywords = "value"`): the index
    /// of `T`'s string field that holds each keyword's text.
    pub keywords: Option<usize>,
    /// For a list in the query: the separator its items are joined with
    /// (`ids=2,616`).
    pub join: Option<String>,
    /// The errcode a server answers when this request field is missing or
    /// empty (`errcode_missing`).
    pub errcode_missing: Option<i64>,
    /// The errcode a server answers when this request field's value is not
    /// one its type allows (`errcode_invalid`).
    pub errcode_invalid: Option<i64>,
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

/// Server-checked meanings. This is the one list of roles: the spec's
/// `role = "..."` names ([`Role::name`]) and the runtime's
/// `wechat_msg::meta::Role` enum (generated from [`Role::ALL`] by
/// `wechat_msg_macros::__role_enum!`, its variants [`Role::variant`]) both
/// come from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `openid`.
    Openid,
    /// `template_id`.
    TemplateId,
    /// `form_id`.
    FormId,
    /// `media_id`.
    MediaId,
    /// `timestamp`.
    Timestamp,
    /// `secret`: never printed by `Debug`.
    Secret,
}

impl Role {
    /// Every role, in the order messages list them.
    pub const ALL: [Role; 6] = [
        Role::Openid,
        Role::TemplateId,
        Role::FormId,
        Role::MediaId,
        Role::Timestamp,
        Role::Secret,
    ];

    /// The role's name in the spec (`role = "template_id"`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Openid => "openid",
            Role::TemplateId => "template_id",
            Role::FormId => "form_id",
            Role::MediaId => "media_id",
            Role::Timestamp => "timestamp",
            Role::Secret => "secret",
        }
    }

    /// The role named `name` in the spec.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The runtime's variant: the name in UpperCamelCase (`TemplateId`).
    pub fn variant(self) -> String {
        heck::ToUpperCamelCase::to_upper_camel_case(self.name())
    }

    /// The documentation of the runtime's variant.
    pub fn doc(self) -> &'static str {
        match self {
            Role::Openid => "A user's OpenID.",
            Role::TemplateId => "A template ID.",
            Role::FormId => "A single-use form_id or prepay_id.",
            Role::MediaId => "A media_id from the media upload API.",
            Role::Timestamp => "A Unix time set by the server (in answers: `created_at`).",
            Role::Secret => "A secret (the AppSecret): the generated `Debug` prints `***`.",
        }
    }
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
    /// `open = true`: values the spec does not list are read into an
    /// `Unknown(String)` variant instead of refused (answers WeChat may
    /// extend).
    pub open: bool,
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

// Message pushes: `[[push_common]]`, `[[push]]` and `[[push_item]]`. A push
// is read by its `MsgType` (and, for events, its `Event`); each of its
// elements has one name, the JSON key and the XML element alike.

/// Every push of the spec.
#[derive(Debug, Clone, Default)]
pub struct PushModel {
    /// The elements every push carries (`ToUserName`, `FromUserName`, ...).
    pub common: Vec<PushElement>,
    /// One kind of push each.
    pub messages: Vec<PushMessage>,
    /// The items of push lists.
    pub items: Vec<PushItem>,
}

/// `[[push]]`: one kind of message or event.
#[derive(Debug, Clone)]
pub struct PushMessage {
    /// The Rust struct.
    pub name: String,
    /// The variant of the `Push` enum.
    pub variant: String,
    /// `MsgType`.
    pub msg_type: String,
    /// `Event`, for events.
    pub event: Option<String>,
    /// Its description.
    pub doc: String,
    /// Its own elements (the common ones come first in the struct).
    pub elements: Vec<PushElement>,
}

impl PushMessage {
    /// Whether it has a `msg_id` element (deduplicated by it).
    pub fn msg_id(&self) -> Option<&PushElement> {
        self.elements
            .iter()
            .find(|e| e.role == Some(PushRole::MsgId))
    }

    /// The element that deduplicates this push other than by its sender
    /// and time: its `msg_id`, or its `dedupe` element.
    pub fn dedupe_element(&self) -> Option<&PushElement> {
        self.msg_id().or_else(|| {
            self.elements
                .iter()
                .find(|e| e.role == Some(PushRole::Dedupe))
        })
    }
}

/// `[[push_item]]`: an item of a push list.
#[derive(Debug, Clone)]
pub struct PushItem {
    /// The Rust struct.
    pub name: String,
    /// Its description.
    pub doc: String,
    /// Its elements.
    pub elements: Vec<PushElement>,
}

/// One element of a push: a JSON key and an XML element of the same name.
#[derive(Debug, Clone)]
pub struct PushElement {
    /// The name on the wire.
    pub name: String,
    /// The Rust field.
    pub rust: String,
    /// Its type.
    pub ty: PushElementType,
    /// Whether a push without it is malformed.
    pub required: bool,
    /// What the runtime uses it for.
    pub role: Option<PushRole>,
    /// The XML element a list is wrapped in.
    pub xml_wrapper: Option<String>,
    /// Its description.
    pub doc: String,
}

/// The type of a push element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushElementType {
    /// Text.
    String,
    /// An integer, sent as a number or as a string of digits.
    Integer,
    /// A list of items (index into [`PushModel::items`]): one object or an
    /// array of them.
    List(usize),
    /// One item (index into [`PushModel::items`]): a nested object.
    Item(usize),
}

/// What the runtime reads an element for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushRole {
    /// The Mini Program's gh_ id (common).
    Recipient,
    /// The user's openid (common).
    Sender,
    /// The push's unix time (common).
    Time,
    /// The message id, the key for deduplication.
    MsgId,
    /// Another element that deduplicates a push (`trace_id` of a media
    /// check): a string or an integer.
    Dedupe,
}

// Template keywords: `[[keyword]]`. A keyword's type is its key without the
// trailing digits; its value must fit the type's rule.

/// `[[keyword]]`: one keyword type and the rule its values fit.
#[derive(Debug, Clone)]
pub struct Keyword {
    /// The type as it appears in keys: `character_string`.
    pub name: String,
    /// The Rust newtype: `CharacterString`.
    pub rust: String,
    /// Description.
    pub doc: String,
    /// At most this many characters (Unicode scalar values).
    pub max_chars: Option<usize>,
    /// A regular expression the whole value matches (checked to be anchored
    /// at both ends and to compile).
    pub pattern: Option<String>,
    /// What the pattern asks for, in words, after "must be".
    pub rule: Option<String>,
    /// A stricter limit for values that contain something.
    pub when_contains: Option<WhenContains>,
    /// Whether cutting a value and ending it with `…` keeps it valid, so
    /// the newtype has `truncate`.
    pub truncate: bool,
}

/// `[keyword.when_contains]`: a stricter length for values with a match of
/// `pattern` (a name with a Chinese character counts as Chinese).
#[derive(Debug, Clone)]
pub struct WhenContains {
    /// A regular expression searched anywhere in the value.
    pub pattern: String,
    /// The limit when it matches.
    pub max_chars: usize,
    /// What it matches, in words: "Chinese characters".
    pub what: String,
}
