//! The spec as written: TOML tables read into structs that keep every value's
//! position. Unknown keys, missing keys and values of the wrong TOML type are
//! all reported here, every one of them, not just the first.

// Raw fields are named after the TOML keys they hold; api-spec/README.md
// documents each key.
#![allow(missing_docs)]

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::error::{LineIndex, Pos, SpecErrors};

/// A value and where it was written.
#[derive(Clone, Debug)]
pub struct Sp<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub pos: Pos,
}

/// One spec file.
#[derive(Debug, Default)]
pub struct RawFile {
    /// `[[endpoint]]` tables.
    pub endpoints: Vec<RawEndpoint>,
    /// `[[type]]` tables.
    pub types: Vec<RawType>,
    /// `[[enum]]` tables.
    pub enums: Vec<RawEnum>,
    /// `[[errcode]]` tables: the shared errcode table.
    pub errcodes: Vec<RawErrcode>,
    /// `[[push_common]]` tables: the elements every push carries.
    pub push_common: Vec<RawElement>,
    /// `[[push]]` tables: one kind of message push each.
    pub pushes: Vec<RawPush>,
    /// `[[push_item]]` tables: the items of a push's lists.
    pub push_items: Vec<RawPushItem>,
    /// `[[keyword]]` tables: the value rules of template keyword types.
    pub keywords: Vec<RawKeyword>,
}

/// `[[keyword]]`
#[derive(Debug)]
pub struct RawKeyword {
    pub pos: Pos,
    pub name: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
    pub max_chars: Option<Sp<i64>>,
    pub pattern: Option<Sp<String>>,
    pub rule: Option<Sp<String>>,
    pub truncate: Option<Sp<bool>>,
    pub when_contains: Option<RawWhenContains>,
}

/// `[keyword.when_contains]`
#[derive(Debug)]
pub struct RawWhenContains {
    pub pos: Pos,
    pub pattern: Option<Sp<String>>,
    pub max_chars: Option<Sp<i64>>,
    pub what: Option<Sp<String>>,
}

/// `[[push]]`
#[derive(Debug)]
pub struct RawPush {
    pub pos: Pos,
    pub name: Option<Sp<String>>,
    pub variant: Option<Sp<String>>,
    pub msg_type: Option<Sp<String>>,
    pub event: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
    pub elements: Vec<RawElement>,
}

/// `[[push_item]]`
#[derive(Debug)]
pub struct RawPushItem {
    pub name: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
    pub elements: Vec<RawElement>,
}

/// `[[push.element]]`, `[[push_item.element]]` or `[[push_common]]`: one key
/// of a push, named alike in JSON and XML.
#[derive(Debug)]
pub struct RawElement {
    pub name: Option<Sp<String>>,
    pub rust: Option<Sp<String>>,
    pub ty: Option<Sp<String>>,
    pub required: Option<Sp<bool>>,
    pub role: Option<Sp<String>>,
    pub xml_wrapper: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
}

/// `[[endpoint]]`
#[derive(Debug)]
pub struct RawEndpoint {
    pub pos: Pos,
    pub name: Option<Sp<String>>,
    pub rust: Option<Sp<String>>,
    pub method: Option<Sp<String>>,
    pub path: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
    pub request: Option<Sp<String>>,
    pub body: Option<Sp<String>>,
    pub answer: Option<Sp<String>>,
    pub auth: Option<Sp<String>>,
    pub cloud: Option<Sp<bool>>,
    pub shared_errcodes: Option<Sp<bool>>,
    pub errcodes_of: Option<Sp<String>>,
    pub deprecated: Option<RawDeprecated>,
    pub errcodes: Vec<RawErrcode>,
}

/// `[endpoint.deprecated]`
#[derive(Debug)]
pub struct RawDeprecated {
    pub since: Option<Sp<String>>,
    pub successor: Option<Sp<String>>,
    pub note: Option<Sp<String>>,
}

/// `[[errcode]]` or `[[endpoint.errcode]]`
#[derive(Debug)]
pub struct RawErrcode {
    pub pos: Pos,
    pub code: Option<Sp<i64>>,
    pub rust: Option<Sp<String>>,
    pub class: Option<Sp<String>>,
    pub description: Option<Sp<String>>,
}

/// `[[type]]`
#[derive(Debug)]
pub struct RawType {
    pub pos: Pos,
    pub name: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
    pub fields: Vec<RawField>,
    pub union: Option<RawUnion>,
}

/// `[[type.field]]`
#[derive(Debug)]
pub struct RawField {
    pub pos: Pos,
    pub http: Option<Sp<String>>,
    pub cloud: Option<Sp<String>>,
    pub rust: Option<Sp<String>>,
    pub ty: Option<Sp<String>>,
    pub required: Option<Sp<bool>>,
    pub role: Option<Sp<String>>,
    pub location: Option<Sp<String>>,
    pub keywords: Option<Sp<String>>,
    pub join: Option<Sp<String>>,
    pub verbatim: Option<Sp<bool>>,
    pub errcode_missing: Option<Sp<i64>>,
    pub errcode_invalid: Option<Sp<i64>>,
    pub doc: Option<Sp<String>>,
}

/// `[type.union]`
#[derive(Debug)]
pub struct RawUnion {
    pub pos: Pos,
    pub rust: Option<Sp<String>>,
    pub enum_name: Option<Sp<String>>,
    pub tag: Option<Sp<String>>,
    pub tag_cloud: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
    pub variants: Vec<RawVariant>,
}

/// `[[type.union.variant]]`
#[derive(Debug)]
pub struct RawVariant {
    pub pos: Pos,
    pub value: Option<Sp<String>>,
    pub cloud: Option<Sp<String>>,
    pub rust: Option<Sp<String>>,
    pub payload: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
}

/// `[[enum]]`
#[derive(Debug)]
pub struct RawEnum {
    pub pos: Pos,
    pub name: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
    pub open: Option<Sp<bool>>,
    pub values: Vec<RawEnumValue>,
}

/// `[[enum.value]]`
#[derive(Debug)]
pub struct RawEnumValue {
    pub wire: Option<Sp<String>>,
    pub rust: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
}

/// Reads one file. TOML syntax errors and structural mistakes go to `errors`.
pub fn read_file(index: &LineIndex, text: &str, errors: &mut SpecErrors) -> RawFile {
    let Some(root) = parse(index, text, errors) else {
        return RawFile::default();
    };
    let mut cx = Cx { index, errors };
    let mut table = Table::new(
        &mut cx,
        root.get_ref(),
        index.pos(0),
        "a spec file",
        &[
            "endpoint",
            "type",
            "enum",
            "errcode",
            "push_common",
            "push",
            "push_item",
            "keyword",
        ],
    );
    RawFile {
        endpoints: table
            .tables(&mut cx, "endpoint")
            .into_iter()
            .map(|t| endpoint(&mut cx, t))
            .collect(),
        types: table
            .tables(&mut cx, "type")
            .into_iter()
            .map(|t| ty(&mut cx, t))
            .collect(),
        enums: table
            .tables(&mut cx, "enum")
            .into_iter()
            .map(|t| enumeration(&mut cx, t))
            .collect(),
        errcodes: table
            .tables(&mut cx, "errcode")
            .into_iter()
            .map(|t| errcode(&mut cx, t))
            .collect(),
        push_common: table
            .tables(&mut cx, "push_common")
            .into_iter()
            .map(|t| element(&mut cx, t))
            .collect(),
        pushes: table
            .tables(&mut cx, "push")
            .into_iter()
            .map(|mut t| RawPush {
                pos: t.pos.clone(),
                name: t.req_string(&mut cx, "name"),
                variant: t.req_string(&mut cx, "variant"),
                msg_type: t.req_string(&mut cx, "msg_type"),
                event: t.string(&mut cx, "event"),
                doc: t.req_string(&mut cx, "doc"),
                elements: elements(&mut cx, &mut t),
            })
            .collect(),
        push_items: table
            .tables(&mut cx, "push_item")
            .into_iter()
            .map(|mut t| RawPushItem {
                name: t.req_string(&mut cx, "name"),
                doc: t.req_string(&mut cx, "doc"),
                elements: elements(&mut cx, &mut t),
            })
            .collect(),
        keywords: table
            .tables(&mut cx, "keyword")
            .into_iter()
            .map(|t| keyword(&mut cx, t))
            .collect(),
    }
}

fn keyword(cx: &mut Cx<'_>, mut t: Table<'_, '_>) -> RawKeyword {
    RawKeyword {
        pos: t.pos.clone(),
        name: t.req_string(cx, "name"),
        doc: t.req_string(cx, "doc"),
        max_chars: t.int(cx, "max_chars", false),
        pattern: t.string(cx, "pattern"),
        rule: t.string(cx, "rule"),
        truncate: t.bool(cx, "truncate"),
        when_contains: t
            .table(cx, "when_contains", WHEN_CONTAINS_KEYS)
            .map(|mut w| RawWhenContains {
                pos: w.pos.clone(),
                pattern: w.req_string(cx, "pattern"),
                max_chars: w.int(cx, "max_chars", true),
                what: w.req_string(cx, "what"),
            }),
    }
}

fn elements(cx: &mut Cx<'_>, t: &mut Table<'_, '_>) -> Vec<RawElement> {
    t.tables(cx, "element")
        .into_iter()
        .map(|e| element(cx, e))
        .collect()
}

fn element(cx: &mut Cx<'_>, mut t: Table<'_, '_>) -> RawElement {
    RawElement {
        name: t.req_string(cx, "name"),
        rust: t.string(cx, "rust"),
        ty: t.req_string(cx, "type"),
        required: t.bool(cx, "required"),
        role: t.string(cx, "role"),
        xml_wrapper: t.string(cx, "xml_wrapper"),
        doc: t.req_string(cx, "doc"),
    }
}

fn endpoint(cx: &mut Cx<'_>, mut t: Table<'_, '_>) -> RawEndpoint {
    RawEndpoint {
        pos: t.pos.clone(),
        name: t.req_string(cx, "name"),
        rust: t.string(cx, "rust"),
        method: t.req_string(cx, "method"),
        path: t.req_string(cx, "path"),
        doc: t.req_string(cx, "doc"),
        request: t.req_string(cx, "request"),
        body: t.string(cx, "body"),
        answer: t.string(cx, "answer"),
        auth: t.string(cx, "auth"),
        cloud: t.bool(cx, "cloud"),
        shared_errcodes: t.bool(cx, "shared_errcodes"),
        errcodes_of: t.string(cx, "errcodes_of"),
        deprecated: t
            .table(cx, "deprecated", &["since", "successor", "note"])
            .map(|mut d| RawDeprecated {
                since: d.string(cx, "since"),
                successor: d.string(cx, "successor"),
                note: d.req_string(cx, "note"),
            }),
        errcodes: t
            .tables(cx, "errcode")
            .into_iter()
            .map(|e| errcode(cx, e))
            .collect(),
    }
}

const ENDPOINT_KEYS: &[&str] = &[
    "name",
    "rust",
    "method",
    "path",
    "doc",
    "request",
    "body",
    "answer",
    "auth",
    "cloud",
    "shared_errcodes",
    "errcodes_of",
    "deprecated",
    "errcode",
];
const ERRCODE_KEYS: &[&str] = &["code", "rust", "class", "description"];
const TYPE_KEYS: &[&str] = &["name", "doc", "field", "union"];
const FIELD_KEYS: &[&str] = &[
    "http",
    "cloud",
    "rust",
    "type",
    "required",
    "role",
    "in",
    "keywords",
    "join",
    "verbatim",
    "errcode_missing",
    "errcode_invalid",
    "doc",
];
const KEYWORD_KEYS: &[&str] = &[
    "name",
    "doc",
    "max_chars",
    "pattern",
    "rule",
    "truncate",
    "when_contains",
];
const WHEN_CONTAINS_KEYS: &[&str] = &["pattern", "max_chars", "what"];
const UNION_KEYS: &[&str] = &["rust", "enum", "tag", "tag_cloud", "doc", "variant"];
const VARIANT_KEYS: &[&str] = &["value", "cloud", "rust", "payload", "doc"];
const ENUM_KEYS: &[&str] = &["name", "doc", "open", "value"];
const ENUM_VALUE_KEYS: &[&str] = &["wire", "rust", "doc"];
const PUSH_KEYS: &[&str] = &["name", "variant", "msg_type", "event", "doc", "element"];
const PUSH_ITEM_KEYS: &[&str] = &["name", "doc", "element"];
const ELEMENT_KEYS: &[&str] = &[
    "name",
    "rust",
    "type",
    "required",
    "role",
    "xml_wrapper",
    "doc",
];

fn errcode(cx: &mut Cx<'_>, mut t: Table<'_, '_>) -> RawErrcode {
    RawErrcode {
        pos: t.pos.clone(),
        code: t.int(cx, "code", true),
        rust: t.string(cx, "rust"),
        class: t.string(cx, "class"),
        description: t.req_string(cx, "description"),
    }
}

fn ty(cx: &mut Cx<'_>, mut t: Table<'_, '_>) -> RawType {
    RawType {
        pos: t.pos.clone(),
        name: t.req_string(cx, "name"),
        doc: t.req_string(cx, "doc"),
        fields: t
            .tables(cx, "field")
            .into_iter()
            .map(|f| field(cx, f))
            .collect(),
        union: t.table(cx, "union", UNION_KEYS).map(|mut u| RawUnion {
            pos: u.pos.clone(),
            rust: u.req_string(cx, "rust"),
            enum_name: u.req_string(cx, "enum"),
            tag: u.req_string(cx, "tag"),
            tag_cloud: u.string(cx, "tag_cloud"),
            doc: u.req_string(cx, "doc"),
            variants: u
                .tables(cx, "variant")
                .into_iter()
                .map(|v| variant(cx, v))
                .collect(),
        }),
    }
}

fn field(cx: &mut Cx<'_>, mut t: Table<'_, '_>) -> RawField {
    RawField {
        pos: t.pos.clone(),
        http: t.req_string(cx, "http"),
        cloud: t.req_string(cx, "cloud"),
        rust: t.string(cx, "rust"),
        ty: t.req_string(cx, "type"),
        required: t.bool(cx, "required"),
        role: t.string(cx, "role"),
        location: t.string(cx, "in"),
        keywords: t.string(cx, "keywords"),
        join: t.string(cx, "join"),
        verbatim: t.bool(cx, "verbatim"),
        errcode_missing: t.int(cx, "errcode_missing", false),
        errcode_invalid: t.int(cx, "errcode_invalid", false),
        doc: t.req_string(cx, "doc"),
    }
}

fn variant(cx: &mut Cx<'_>, mut t: Table<'_, '_>) -> RawVariant {
    RawVariant {
        pos: t.pos.clone(),
        value: t.req_string(cx, "value"),
        cloud: t.string(cx, "cloud"),
        rust: t.string(cx, "rust"),
        payload: t.string(cx, "payload"),
        doc: t.req_string(cx, "doc"),
    }
}

fn enumeration(cx: &mut Cx<'_>, mut t: Table<'_, '_>) -> RawEnum {
    RawEnum {
        pos: t.pos.clone(),
        name: t.req_string(cx, "name"),
        doc: t.req_string(cx, "doc"),
        open: t.bool(cx, "open"),
        values: t
            .tables(cx, "value")
            .into_iter()
            .map(|mut v| RawEnumValue {
                wire: v.req_string(cx, "wire"),
                rust: v.string(cx, "rust"),
                doc: v.req_string(cx, "doc"),
            })
            .collect(),
    }
}

/// Parses the TOML of one file; a syntax error is reported at its position
/// and gives `None`.
pub(crate) fn parse<'i>(
    index: &LineIndex,
    text: &'i str,
    errors: &mut SpecErrors,
) -> Option<Spanned<DeTable<'i>>> {
    match DeTable::parse(text) {
        Ok(root) => Some(root),
        Err(err) => {
            let pos = index.pos(err.span().map_or(0, |s| s.start));
            errors.push(&pos, format!("invalid TOML: {}", err.message().trim()));
            None
        }
    }
}

/// What reading one file needs: its line index and where mistakes go.
pub(crate) struct Cx<'a> {
    pub(crate) index: &'a LineIndex,
    pub(crate) errors: &'a mut SpecErrors,
}

impl Cx<'_> {
    pub(crate) fn pos(&self, span: std::ops::Range<usize>) -> Pos {
        self.index.pos(span.start)
    }
}

/// A TOML table being read; knows what it is for messages.
pub(crate) struct Table<'a, 'i> {
    map: &'a DeTable<'i>,
    pub(crate) pos: Pos,
    what: &'static str,
}

impl<'a, 'i> Table<'a, 'i> {
    /// Wraps `map`, reporting every key not in `keys`.
    pub(crate) fn new(
        cx: &mut Cx<'_>,
        map: &'a DeTable<'i>,
        pos: Pos,
        what: &'static str,
        keys: &[&str],
    ) -> Self {
        for key in map.keys() {
            if !keys.contains(&key.get_ref().as_ref()) {
                let pos = cx.pos(key.span());
                cx.errors.push(
                    &pos,
                    format!(
                        "unknown key `{}` in {what}; expected one of: {}",
                        key.get_ref(),
                        keys.join(", ")
                    ),
                );
            }
        }
        Table { map, pos, what }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.map.get(key)
    }

    fn missing(&self, cx: &mut Cx<'_>, key: &str) {
        cx.errors
            .push(&self.pos, format!("missing key `{key}` in {}", self.what));
    }

    pub(crate) fn string(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<Sp<String>> {
        let value = self.get(key)?;
        let pos = cx.pos(value.span());
        match value.get_ref() {
            DeValue::String(s) => Some(Sp {
                value: s.to_string(),
                pos,
            }),
            other => {
                cx.errors.push(
                    &pos,
                    format!("`{key}` must be a string, not {}", other.type_str()),
                );
                None
            }
        }
    }

    pub(crate) fn req_string(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<Sp<String>> {
        if self.get(key).is_none() {
            self.missing(cx, key);
        }
        self.string(cx, key)
    }

    pub(crate) fn bool(&mut self, cx: &mut Cx<'_>, key: &str) -> Option<Sp<bool>> {
        let value = self.get(key)?;
        let pos = cx.pos(value.span());
        match value.get_ref() {
            DeValue::Boolean(b) => Some(Sp { value: *b, pos }),
            other => {
                cx.errors.push(
                    &pos,
                    format!("`{key}` must be true or false, not {}", other.type_str()),
                );
                None
            }
        }
    }

    pub(crate) fn int(&mut self, cx: &mut Cx<'_>, key: &str, required: bool) -> Option<Sp<i64>> {
        let Some(value) = self.get(key) else {
            if required {
                self.missing(cx, key);
            }
            return None;
        };
        let pos = cx.pos(value.span());
        let parsed = match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        if parsed.is_none() {
            cx.errors.push(
                &pos,
                format!(
                    "`{key}` must be an integer, not {}",
                    value.get_ref().type_str()
                ),
            );
        }
        parsed.map(|value| Sp { value, pos })
    }

    /// An array of tables (`[[key]]`); absent means empty.
    fn tables(&mut self, cx: &mut Cx<'_>, key: &str) -> Vec<Table<'a, 'i>> {
        let (what, keys) = child_kind(key);
        self.tables_of(cx, key, what, keys)
    }

    /// An array of tables (`[[key]]`) each called `what` in messages and
    /// holding only `keys`; absent means empty.
    pub(crate) fn tables_of(
        &mut self,
        cx: &mut Cx<'_>,
        key: &str,
        what: &'static str,
        keys: &'static [&'static str],
    ) -> Vec<Table<'a, 'i>> {
        let Some(value) = self.get(key) else {
            return Vec::new();
        };
        let pos = cx.pos(value.span());
        let DeValue::Array(items) = value.get_ref() else {
            cx.errors.push(
                &pos,
                format!("`{key}` must be an array of tables (`[[{key}]]`)"),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let pos = cx.pos(item.span());
            match item.get_ref() {
                DeValue::Table(map) => out.push(Table::new(cx, map, pos, what, keys)),
                other => cx.errors.push(
                    &pos,
                    format!("each `{key}` must be a table, not {}", other.type_str()),
                ),
            }
        }
        out
    }

    /// A sub-table (`[parent.key]`).
    fn table(&mut self, cx: &mut Cx<'_>, key: &str, keys: &[&str]) -> Option<Table<'a, 'i>> {
        let value = self.get(key)?;
        let pos = cx.pos(value.span());
        match value.get_ref() {
            DeValue::Table(map) => Some(Table::new(cx, map, pos, child_kind(key).0, keys)),
            other => {
                cx.errors.push(
                    &pos,
                    format!("`{key}` must be a table, not {}", other.type_str()),
                );
                None
            }
        }
    }
}

/// What a child table under `key` is called in messages, and its keys.
fn child_kind(key: &str) -> (&'static str, &'static [&'static str]) {
    match key {
        "endpoint" => ("an endpoint", ENDPOINT_KEYS),
        "errcode" => ("an errcode", ERRCODE_KEYS),
        "type" => ("a type", TYPE_KEYS),
        "field" => ("a field", FIELD_KEYS),
        "union" => ("a union", UNION_KEYS),
        "variant" => ("a union variant", VARIANT_KEYS),
        "enum" => ("an enum", ENUM_KEYS),
        "value" => ("an enum value", ENUM_VALUE_KEYS),
        "deprecated" => ("a deprecation", &["since", "successor", "note"]),
        "push" => ("a push", PUSH_KEYS),
        "push_item" => ("a push item", PUSH_ITEM_KEYS),
        "push_common" | "element" => ("a push element", ELEMENT_KEYS),
        "keyword" => ("a keyword type", KEYWORD_KEYS),
        "when_contains" => ("a keyword's when_contains", WHEN_CONTAINS_KEYS),
        _ => ("a table", &[]),
    }
}
