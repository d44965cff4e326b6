//! Typed subscribe templates: a user's templates file, read and validated
//! like the spec (every mistake at its `FILE:LINE:COL`), and the structs
//! `wechat_msg::templates!` generates from it.
//!
//! ```toml
//! [[template]]
//! id = "TEMPLATE_ID"            # the template's priTmplId
//! rust = "OrderShipped"         # the generated struct
//! title = "Order shipped"
//!
//! [[template.keyword]]
//! key = "thing1"                # the key in `data`; its type is the key without the digits
//! rust = "item"                 # the struct field and builder setter
//! type = "thing"                # optional; must agree with the key
//! name = "Item"                 # optional: the keyword's label in the template
//! values = ["Shipped", "Lost"]  # optional: the only values allowed (an enum keyword)
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use heck::ToUpperCamelCase;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use toml::de::{DeTable, DeValue};

use crate::error::{LineIndex, Pos, SpecError, SpecErrors};
use crate::generate::builders::{Missing, builder_module, state_module};
use crate::generate::{docs, krate};
use crate::raw::{Cx, Sp, Table};

const TEMPLATE_KEYS: &[&str] = &["id", "rust", "title", "doc", "keyword"];
const KEYWORD_KEYS: &[&str] = &["key", "rust", "type", "name", "values", "doc"];

/// A templates file, validated.
#[derive(Clone, Debug, Default)]
pub struct Templates {
    /// The templates, in file order.
    pub templates: Vec<Template>,
}

/// One subscribe template of the account.
#[derive(Clone, Debug)]
pub struct Template {
    /// The template id (`priTmplId`), sent as `template_id`.
    pub id: String,
    /// The generated struct's name.
    pub rust: String,
    /// The template's title.
    pub title: String,
    /// Extra documentation, if any.
    pub doc: Option<String>,
    /// The keywords, in file order.
    pub keywords: Vec<Keyword>,
}

/// One keyword of a template.
#[derive(Clone, Debug)]
pub struct Keyword {
    /// The key in `data` (`thing1`).
    pub key: String,
    /// The keyword type: the key without its trailing digits (`thing`).
    pub ty: String,
    /// The struct field and setter name.
    pub rust: String,
    /// The keyword's label in the template, if known.
    pub name: Option<String>,
    /// The only values allowed, for an enum keyword.
    pub values: Option<Vec<String>>,
    /// Extra documentation, if any.
    pub doc: Option<String>,
}

/// The keyword type of a data key: the key without its trailing digits
/// (`character_string12` -> `character_string`). `None` when the key is not
/// a type name followed by digits.
pub fn keyword_type(key: &str) -> Option<&str> {
    let ty = key.trim_end_matches(|c: char| c.is_ascii_digit());
    let well_formed = ty.len() < key.len()
        && ty.starts_with(|c: char| c.is_ascii_lowercase())
        && ty.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        && !ty.ends_with('_');
    well_formed.then_some(ty)
}

/// Reads and validates the templates file at `path`, shown in messages as
/// `shown`. Every mistake is returned, sorted by line.
pub fn load_templates(path: &Path, shown: &str) -> Result<Templates, Vec<SpecError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![SpecError {
            pos: Pos {
                file: shown.to_owned(),
                line: 1,
                col: 1,
            },
            message: format!("cannot read the templates file {}: {e}", path.display()),
        }]
    })?;
    parse_templates(&text, shown)
}

/// Validates the text of a templates file, shown in messages as `shown`.
pub fn parse_templates(text: &str, shown: &str) -> Result<Templates, Vec<SpecError>> {
    let index = LineIndex::new(shown.to_owned(), text);
    let mut errors = SpecErrors::default();
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => {
            let pos = index.pos(err.span().map_or(0, |s| s.start));
            errors.push(&pos, format!("invalid TOML: {}", err.message().trim()));
            return Err(errors.into_sorted());
        }
    };
    let mut cx = Cx {
        index: &index,
        errors: &mut errors,
    };
    let mut file = Table::new(
        &mut cx,
        root.get_ref(),
        index.pos(0),
        "a templates file",
        &["template"],
    );
    let mut out = Templates::default();
    let mut struct_names: BTreeMap<String, Pos> = BTreeMap::new();
    let mut ids: BTreeMap<String, Pos> = BTreeMap::new();
    for mut t in file.tables_of(&mut cx, "template", "a template", TEMPLATE_KEYS) {
        let id = t.req_string(&mut cx, "id");
        let rust = t.req_string(&mut cx, "rust");
        let title = t.req_string(&mut cx, "title");
        let doc = t.string(&mut cx, "doc").map(|d| d.value);
        if let Some(id) = &id {
            if id.value.trim().is_empty() {
                cx.errors.push(&id.pos, "`id` must not be empty");
            } else if let Some(first) = ids.insert(id.value.clone(), id.pos.clone()) {
                cx.errors.push(
                    &id.pos,
                    format!("template id `{}` is already used at {first}", id.value),
                );
            }
        }
        if let Some(rust) = &rust {
            check_struct_name(&mut cx, rust);
            if let Some(first) = struct_names.insert(rust.value.clone(), rust.pos.clone()) {
                cx.errors.push(
                    &rust.pos,
                    format!("struct name `{}` is already used at {first}", rust.value),
                );
            }
        }
        let keywords = keywords(&mut cx, &mut t);
        if let (Some(id), Some(rust), Some(title)) = (id, rust, title) {
            out.templates.push(Template {
                id: id.value,
                rust: rust.value,
                title: title.value,
                doc,
                keywords,
            });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.into_sorted())
    }
}

fn keywords(cx: &mut Cx<'_>, t: &mut Table<'_, '_>) -> Vec<Keyword> {
    let mut out = Vec::new();
    let mut keys: BTreeMap<String, Pos> = BTreeMap::new();
    let mut fields: BTreeMap<String, Pos> = BTreeMap::new();
    for mut k in t.tables_of(cx, "keyword", "a keyword", KEYWORD_KEYS) {
        let key = k.req_string(cx, "key");
        let rust = k.string(cx, "rust");
        let ty = k.string(cx, "type");
        let name = k.string(cx, "name").map(|n| n.value);
        let doc = k.string(cx, "doc").map(|d| d.value);
        let values = string_list(cx, &k, "values");
        let Some(key) = key else { continue };
        let Some(key_type) = keyword_type(&key.value) else {
            cx.errors.push(
                &key.pos,
                format!(
                    "keyword key `{}` is not a type followed by digits (`thing1`, `character_string12`)",
                    key.value
                ),
            );
            continue;
        };
        if let Some(ty) = &ty
            && ty.value != key_type
        {
            cx.errors.push(
                &ty.pos,
                format!(
                    "`type` is `{}` but the key `{}` makes it `{key_type}`",
                    ty.value, key.value
                ),
            );
        }
        if let Some(first) = keys.insert(key.value.clone(), key.pos.clone()) {
            cx.errors.push(
                &key.pos,
                format!("keyword `{}` is already listed at {first}", key.value),
            );
        }
        let rust = rust.unwrap_or_else(|| key.clone());
        check_field_name(cx, &rust);
        if let Some(first) = fields.insert(rust.value.clone(), rust.pos.clone()) {
            cx.errors.push(
                &rust.pos,
                format!("field name `{}` is already used at {first}", rust.value),
            );
        }
        out.push(Keyword {
            ty: key_type.to_owned(),
            key: key.value,
            rust: rust.value,
            name,
            values,
            doc,
        });
    }
    out
}

/// An optional array of non-empty, distinct strings.
fn string_list(cx: &mut Cx<'_>, t: &Table<'_, '_>, key: &str) -> Option<Vec<String>> {
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
    let mut out: Vec<String> = Vec::new();
    for item in items.iter() {
        let pos = cx.pos(item.span());
        match item.get_ref() {
            DeValue::String(s) if s.is_empty() => {
                cx.errors
                    .push(&pos, format!("`{key}` holds an empty string"));
            }
            DeValue::String(s) if out.iter().any(|o| o == s.as_ref()) => {
                cx.errors.push(&pos, format!("`{key}` lists `{s}` twice"));
            }
            DeValue::String(s) => out.push(s.to_string()),
            other => cx.errors.push(
                &pos,
                format!("`{key}` must hold strings, not {}", other.type_str()),
            ),
        }
    }
    if out.is_empty() && items.is_empty() {
        cx.errors
            .push(&pos, format!("`{key}` must list at least one value"));
    }
    Some(out)
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && syn::parse_str::<Ident>(s).is_ok()
}

fn check_struct_name(cx: &mut Cx<'_>, name: &Sp<String>) {
    if !is_ident(&name.value) || !name.value.starts_with(|c: char| c.is_ascii_uppercase()) {
        cx.errors.push(
            &name.pos,
            format!(
                "`{}` is not a Rust type name (UpperCamelCase, ASCII letters and digits)",
                name.value
            ),
        );
    } else if name.value.to_upper_camel_case() != name.value {
        cx.errors.push(
            &name.pos,
            format!(
                "`{}` is not UpperCamelCase (`{}`)",
                name.value,
                name.value.to_upper_camel_case()
            ),
        );
    }
}

fn check_field_name(cx: &mut Cx<'_>, name: &Sp<String>) {
    let lower = name
        .value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !is_ident(&name.value) || !lower || name.value.starts_with(|c: char| c.is_ascii_digit()) {
        cx.errors.push(
            &name.pos,
            format!(
                "`{}` is not a Rust field name (snake_case, ASCII, not a Rust keyword)",
                name.value
            ),
        );
    } else if ["to", "builder", "data"].contains(&name.value.as_str()) {
        cx.errors.push(
            &name.pos,
            format!(
                "`{}` is taken by the generated methods; pick another `rust` name",
                name.value
            ),
        );
    }
}

/// Generates one struct, one typestate builder and the enum-value newtypes
/// of each template.
pub fn generate_templates(templates: &Templates) -> TokenStream {
    let items = templates.templates.iter().map(template);
    quote!(#(#items)*)
}

/// The Rust type of a keyword's value.
fn value_type(t: &Template, k: &Keyword) -> TokenStream {
    if k.values.is_some() {
        let name = enum_newtype(t, k);
        quote!(#name)
    } else {
        let ty = format_ident!("{}", k.ty);
        let krate = krate();
        quote!(#krate::__keyword_type!(#ty))
    }
}

fn enum_newtype(t: &Template, k: &Keyword) -> Ident {
    format_ident!("{}{}", t.rust, k.rust.to_upper_camel_case())
}

fn template(t: &Template) -> TokenStream {
    let krate = krate();
    let rt = quote!(#krate::__private);
    let name = format_ident!("{}", t.rust);
    let builder = format_ident!("{}Builder", t.rust);
    let id = &t.id;
    let title = &t.title;
    let mut doc_text = format!(
        "The subscribe template \"{}\" (`{}`).\n\nKeywords:\n",
        t.title, t.id
    );
    for k in &t.keywords {
        doc_text.push_str(&format!(
            "- `{}` (`{}`{}): {}\n",
            k.rust,
            k.key,
            k.name
                .as_deref()
                .map(|n| format!(", \"{n}\""))
                .unwrap_or_default(),
            if k.values.is_some() {
                "one of the listed values".to_owned()
            } else {
                format!("a `{}` value", k.ty)
            }
        ));
    }
    if let Some(doc) = &t.doc {
        doc_text.push_str(&format!("\n{doc}\n"));
    }
    doc_text.push_str(&format!(
        "\nBuild one with [`{0}::builder`] (every keyword is required) and turn it into a message with [`{0}::to`].",
        t.rust
    ));
    let doc = docs(&doc_text);

    let fields = t.keywords.iter().map(|k| {
        let f = format_ident!("{}", k.rust);
        let ty = value_type(t, k);
        let doc = docs(&keyword_doc(k));
        quote!(#doc pub #f: #ty,)
    });
    let params: Vec<Ident> = (0..t.keywords.len())
        .map(|i| format_ident!("S{}", i))
        .collect();
    let module = builder_module(&t.rust);
    let has: Vec<Ident> = t
        .keywords
        .iter()
        .map(|k| format_ident!("Has{}", k.rust.to_upper_camel_case()))
        .collect();
    let field_idents: Vec<Ident> = t
        .keywords
        .iter()
        .map(|k| format_ident!("{}", k.rust))
        .collect();
    let keys: Vec<&str> = t.keywords.iter().map(|k| k.key.as_str()).collect();

    let setters = t.keywords.iter().enumerate().map(|(i, k)| {
        let others: Vec<&Ident> = params
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| p)
            .collect();
        let ty = value_type(t, k);
        let before = params.iter().enumerate().map(|(j, p)| {
            if j == i {
                quote!(#rt::Unset)
            } else {
                quote!(#p)
            }
        });
        let after = params.iter().enumerate().map(|(j, p)| {
            if j == i {
                quote!(#rt::Set<#ty>)
            } else {
                quote!(#p)
            }
        });
        let moved = field_idents.iter().enumerate().map(|(j, f)| {
            if j == i {
                quote!(#f: #rt::Set(value),)
            } else {
                quote!(#f: self.#f,)
            }
        });
        let f = &field_idents[i];
        let doc = docs(&format!(
            "Sets the keyword `{}`.\n\n{}",
            k.key,
            keyword_doc(k)
        ));
        quote! {
            impl<#(#others),*> #builder<#(#before),*> {
                #doc
                pub fn #f(self, value: #ty) -> #builder<#(#after),*> {
                    #builder { #(#moved)* }
                }
            }
        }
    });
    let state = state_module(
        &module,
        &builder,
        &t.rust,
        t.keywords.iter().zip(&has).map(|(k, has)| Missing {
            has: has.clone(),
            message: format!(
                "`{}` is missing its keyword `{}` (`{}`)",
                t.rust, k.rust, k.key
            ),
            label: format!("`{}` is not set", k.rust),
            note: format!("call `.{}(...)` on the builder before `.build()`", k.rust),
        }),
    );
    let bounds = t
        .keywords
        .iter()
        .zip(params.iter().zip(&has))
        .map(|(k, (p, h))| {
            let ty = value_type(t, k);
            quote!(#p: #module::#h<#ty>)
        });
    let defaults = params.iter().map(|p| quote!(#p = #rt::Unset));
    let unset = params.iter().map(|_| quote!(#rt::Unset));
    let init = field_idents.iter().map(|f| quote!(#f: #rt::Unset,));
    let builder_doc = format!(
        " Builds a [`{}`]: set every keyword ({}), then call `build()`. A keyword left unset is a compile error naming it.",
        t.rust,
        t.keywords
            .iter()
            .map(|k| format!("`{}`", k.rust))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let to_doc = format!(
        " The subscribe message of this template to the user `touser` (an OpenID): `template_id` is `{}` and `data` holds every keyword. Set `page`, `miniprogram_state` or `lang` on the result as needed.",
        t.id
    );
    let newtypes = t
        .keywords
        .iter()
        .filter(|k| k.values.is_some())
        .map(|k| enum_value_type(t, k));

    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct #name {
            #(#fields)*
        }

        impl #name {
            /// The template id (`priTmplId`).
            pub const ID: &'static str = #id;
            /// The template's title.
            pub const TITLE: &'static str = #title;
            /// The keys of `data`, in file order.
            pub const KEYS: &'static [&'static str] = &[#(#keys),*];

            /// A builder with no keyword set yet.
            pub fn builder() -> #builder {
                #builder { #(#init)* }
            }

            /// The `data` of a subscribe message: each keyword's value under its key.
            pub fn data(&self) -> #rt::BTreeMap<::std::string::String, #krate::SubscribeKeyword> {
                let mut data = #rt::BTreeMap::new();
                #(
                    data.insert(
                        ::std::string::String::from(#keys),
                        #krate::SubscribeKeyword::builder()
                            .value(::std::string::String::from(::core::clone::Clone::clone(&self.#field_idents)))
                            .build(),
                    );
                )*
                data
            }

            #[doc = #to_doc]
            pub fn to(&self, touser: impl ::core::convert::Into<::std::string::String>) -> #krate::SubscribeMessage {
                #krate::SubscribeMessage::builder()
                    .touser(touser)
                    .template_id(#id)
                    .data(self.data())
                    .build()
            }
        }

        #[doc = #builder_doc]
        #[must_use = "a builder does nothing until `build()`"]
        pub struct #builder<#(#defaults),*> {
            #(#field_idents: #params,)*
        }

        #(#setters)*
        #state

        // The bounds sit on the method, not the impl: an unmet bound is then
        // E0277, which shows the `on_unimplemented` message naming the keyword.
        impl<#(#params),*> #builder<#(#params),*> {
            /// The template value; compiles only once every keyword is set.
            pub fn build(self) -> #name where #(#bounds),* {
                #name { #(#field_idents: #module::#has::into_value(self.#field_idents),)* }
            }
        }

        impl ::core::default::Default for #builder<#(#unset),*> {
            fn default() -> Self {
                #name::builder()
            }
        }

        #(#newtypes)*
    }
}

fn keyword_doc(k: &Keyword) -> String {
    let mut s = format!("The keyword `{}`", k.key);
    if let Some(name) = &k.name {
        s.push_str(&format!(" (\"{name}\")"));
    }
    match &k.values {
        Some(values) => s.push_str(&format!(
            ": one of {}.",
            values
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => s.push_str(&format!(
            ": a `{}` value, checked by WeChat's rule for that type when the type has one.",
            k.ty
        )),
    }
    if let Some(doc) = &k.doc {
        s.push_str(&format!("\n\n{doc}"));
    }
    s
}

/// The newtype of an enum keyword: only its listed values convert.
fn enum_value_type(t: &Template, k: &Keyword) -> TokenStream {
    let name = enum_newtype(t, k);
    let krate = krate();
    let values = k.values.as_deref().unwrap_or_default();
    let doc = docs(&format!(
        "A value of the keyword `{}` of [`{}`]: one of {}.",
        k.key,
        t.rust,
        values
            .iter()
            .map(|v| format!("\"{v}\""))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let key = &k.key;
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct #name(::std::string::String);

        impl #name {
            /// Every value the template allows.
            pub const VALUES: &'static [&'static str] = &[#(#values),*];

            /// The value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::core::convert::TryFrom<&str> for #name {
            type Error = #krate::template::NotAllowed;
            fn try_from(value: &str) -> ::core::result::Result<Self, Self::Error> {
                if Self::VALUES.contains(&value) {
                    ::core::result::Result::Ok(#name(value.to_owned()))
                } else {
                    ::core::result::Result::Err(#krate::template::NotAllowed::new(#key, Self::VALUES))
                }
            }
        }

        impl ::core::convert::From<#name> for ::std::string::String {
            fn from(value: #name) -> Self {
                value.0
            }
        }

        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(&self.0)
            }
        }
    }
}

/// Loads the templates file at `path` and generates its code, or returns
/// every mistake.
pub fn expand_templates(path: &Path, shown: &str) -> Result<TokenStream, Vec<SpecError>> {
    let templates = load_templates(path, shown)?;
    let text = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let text = text.to_string_lossy().into_owned();
    let code = generate_templates(&templates);
    Ok(quote! {
        const _: &[u8] = ::core::include_bytes!(#text);
        #code
    })
}
