//! Reading a templates file: TOML syntax, unknown and missing keys and
//! wrong TOML types, with every value's position, as `crate::raw` reads the
//! spec. What the values mean is checked by `validate`.

use toml::de::DeValue;

use crate::error::{LineIndex, Pos, SpecErrors};
use crate::raw::{Cx, Sp, Table};

const TEMPLATE_KEYS: &[&str] = &["id", "rust", "title", "doc", "keyword"];
const KEYWORD_KEYS: &[&str] = &["key", "rust", "type", "name", "values", "doc"];

/// A templates file as written.
#[derive(Debug, Default)]
pub(super) struct RawTemplates {
    pub templates: Vec<RawTemplate>,
}

/// A `[[template]]`.
#[derive(Debug)]
pub(super) struct RawTemplate {
    pub id: Option<Sp<String>>,
    pub rust: Option<Sp<String>>,
    pub title: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
    pub keywords: Vec<RawKeyword>,
}

/// A `[[template.keyword]]`.
#[derive(Debug)]
pub(super) struct RawKeyword {
    pub key: Option<Sp<String>>,
    pub rust: Option<Sp<String>>,
    pub ty: Option<Sp<String>>,
    pub name: Option<Sp<String>>,
    pub doc: Option<Sp<String>>,
    pub values: Option<RawList>,
}

/// An array that should hold strings.
#[derive(Debug)]
pub(super) struct RawList {
    /// Where the array is.
    pub pos: Pos,
    /// Its items; `None` for one that is not a string (already reported).
    pub items: Vec<Option<Sp<String>>>,
}

/// Reads the text of a templates file. `None` when it is not TOML (the
/// one mistake then reported).
pub(super) fn read(index: &LineIndex, text: &str, errors: &mut SpecErrors) -> Option<RawTemplates> {
    let root = crate::raw::parse(index, text, errors)?;
    let mut cx = Cx { index, errors };
    let mut file = Table::new(
        &mut cx,
        root.get_ref(),
        index.pos(0),
        "a templates file",
        &["template"],
    );
    let templates = file
        .tables_of(&mut cx, "template", "a template", TEMPLATE_KEYS)
        .into_iter()
        .map(|mut t| RawTemplate {
            id: t.req_string(&mut cx, "id"),
            rust: t.req_string(&mut cx, "rust"),
            title: t.req_string(&mut cx, "title"),
            doc: t.string(&mut cx, "doc"),
            keywords: t
                .tables_of(&mut cx, "keyword", "a keyword", KEYWORD_KEYS)
                .into_iter()
                .map(|mut k| RawKeyword {
                    key: k.req_string(&mut cx, "key"),
                    rust: k.string(&mut cx, "rust"),
                    ty: k.string(&mut cx, "type"),
                    name: k.string(&mut cx, "name"),
                    doc: k.string(&mut cx, "doc"),
                    values: string_list(&mut cx, &k, "values"),
                })
                .collect(),
        })
        .collect();
    Some(RawTemplates { templates })
}

/// An optional array of strings.
fn string_list(cx: &mut Cx<'_>, t: &Table<'_, '_>, key: &str) -> Option<RawList> {
    let value = t.get(key)?;
    let pos = cx.pos(value.span());
    let DeValue::Array(items) = value.get_ref() else {
        cx.errors.push(
            &pos,
            format!(
                "`{key}` must be an array of strings, not {}",
                value.get_ref().type_str()
            ),
        );
        return None;
    };
    let items = items
        .iter()
        .map(|item| {
            let pos = cx.pos(item.span());
            match item.get_ref() {
                DeValue::String(s) => Some(Sp {
                    value: s.to_string(),
                    pos,
                }),
                other => {
                    cx.errors.push(
                        &pos,
                        format!("`{key}` must hold strings, not {}", other.type_str()),
                    );
                    None
                }
            }
        })
        .collect();
    Some(RawList { pos, items })
}
