//! Model -> Rust tokens. Generation cannot fail: the model is already valid.
//!
//! One module per kind of output: `types` (structs and enums), `builders`
//! (typestate builders), `wire` (both wire forms, both ways, from one
//! generator given a naming function per form), `errcodes` and `endpoints`
//! (metadata, the `Endpoint` impls and the registry), `keywords` (the
//! `keyword` module and the checks of keyword fields), `roles` (the
//! runtime's `Role` enum from the model's one list of roles).

pub(crate) mod builders;
mod endpoints;
mod errcodes;
mod keywords;
mod push;
pub(crate) mod roles;
mod types;
mod wire;

use std::cell::RefCell;

use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

use crate::model::{Form, Model, Ty};

thread_local! {
    /// The path of the runtime crate in the code being generated; set by
    /// [`with_runtime`] for the length of one generation.
    static RUNTIME: RefCell<Option<TokenStream>> = const { RefCell::new(None) };
}

/// Runs `f` with generated code naming the runtime crate `runtime` (a path
/// such as `::wechat_msg`, `::wx` for a renamed dependency, or
/// `crate::reexported`), restoring the previous path afterwards.
pub fn with_runtime<T>(runtime: &TokenStream, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<TokenStream>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            RUNTIME.with(|r| *r.borrow_mut() = previous);
        }
    }
    let previous = RUNTIME.with(|r| r.borrow_mut().replace(runtime.clone()));
    let _restore = Restore(previous);
    f()
}

/// The path of the runtime crate: `::wechat_msg` unless [`with_runtime`]
/// says otherwise.
pub(crate) fn krate() -> TokenStream {
    RUNTIME.with(|r| r.borrow().clone().unwrap_or_else(|| quote!(::wechat_msg)))
}

/// All generated items for `model`, naming the runtime `::wechat_msg`
/// (see [`with_runtime`] for another path).
pub fn generate(model: &Model) -> TokenStream {
    let tracking = model.files.iter().map(|path| {
        let path = path.to_string_lossy();
        quote!(
            const _: &[u8] = include_bytes!(#path);
        )
    });
    let checked = keywords::checked_objects(model);
    let objects = model.objects.iter().enumerate().map(|(i, o)| {
        let deprecated = deprecation_of_object(model, o);
        let def = types::object(model, o, deprecated.as_ref());
        let builder = builders::builder(model, o, deprecated.as_ref());
        let wire = wire::object(model, o, checked[i], &checked);
        quote!(#def #builder #wire)
    });
    let enums = model.enums.iter().map(|e| {
        let def = types::string_enum(e);
        let wire = wire::string_enum(e);
        quote!(#def #wire)
    });
    let errcodes = model
        .endpoints
        .iter()
        .filter(|e| e.owns_errcodes())
        .map(errcodes::errcode_enum);
    let endpoints = endpoints::endpoints(model);
    let pushes = push::pushes(model);
    let keyword = keywords::module(model);
    quote! {
        #(#tracking)*
        #(#objects)*
        #(#enums)*
        #(#errcodes)*
        #endpoints
        #pushes
        #keyword
    }
}

/// The `#[deprecated]` note of an object that is the request of a retired endpoint.
fn deprecation_of_object(model: &Model, o: &crate::model::Object) -> Option<String> {
    let endpoint = &model.endpoints[o.endpoint?];
    endpoint
        .deprecated
        .as_ref()
        .map(|d| deprecation_note(&endpoint.name, d))
}

/// A sentence for `#[deprecated(note)]` and the docs.
pub(crate) fn deprecation_note(name: &str, d: &crate::model::Deprecated) -> String {
    let mut note = format!("{name} is retired");
    if let Some(since) = &d.since {
        note.push_str(&format!(" since {since}"));
    }
    note.push_str(": ");
    note.push_str(&d.note);
    if let Some(successor) = &d.successor {
        note.push_str(&format!(" Use {successor} instead."));
    }
    note
}

/// The path of the runtime support module.
pub(crate) fn rt() -> TokenStream {
    let krate = krate();
    quote!(#krate::__private)
}

pub(crate) fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// The Rust type of a field type.
pub(crate) fn rust_type(model: &Model, ty: &Ty) -> TokenStream {
    let rt = rt();
    match ty {
        Ty::String => quote!(::std::string::String),
        Ty::Integer => quote!(i64),
        Ty::Bool => quote!(bool),
        Ty::File => quote!(#rt::MediaFile),
        Ty::Object(i) => {
            let name = ident(&model.objects[*i].name);
            quote!(#name)
        }
        Ty::Enum(i) => {
            let name = ident(&model.enums[*i].name);
            quote!(#name)
        }
        Ty::Map(inner) => {
            let inner = rust_type(model, inner);
            quote!(#rt::BTreeMap<::std::string::String, #inner>)
        }
        Ty::List(inner) => {
            let inner = rust_type(model, inner);
            quote!(::std::vec::Vec<#inner>)
        }
    }
}

/// An expression for a wire key, chosen by the `form` in scope. This is where
/// the naming function of each form is applied: `name_of(form)` for every
/// form, folded to a literal when the forms agree.
pub(crate) fn key_expr<'a>(name_of: impl Fn(Form) -> &'a str) -> TokenStream {
    let rt = rt();
    let names: Vec<&str> = Form::ALL.iter().map(|f| name_of(*f)).collect();
    if names.iter().all(|n| *n == names[0]) {
        let name = names[0];
        return quote!(#name);
    }
    let arms = Form::ALL.iter().zip(&names).map(|(form, name)| {
        let variant = form_variant(*form);
        quote!(#rt::Form::#variant => #name)
    });
    quote!(match form { #(#arms),* })
}

pub(crate) fn form_variant(form: Form) -> Ident {
    ident(match form {
        Form::Http => "Http",
        Form::Cloud => "Cloud",
    })
}

/// Names for a sentence, each in backticks: "`a`, `b`".
pub(crate) fn code_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    joined(items, "`")
}

/// Values for a sentence, each in double quotes: "\"a\", \"b\"".
pub(crate) fn quoted_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    joined(items, "\"")
}

fn joined<T: std::fmt::Display>(items: impl IntoIterator<Item = T>, mark: &str) -> String {
    items
        .into_iter()
        .map(|item| format!("{mark}{item}{mark}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `#[doc]` attributes for a description (one per line keeps rustdoc's
/// paragraphs).
pub(crate) fn docs(text: &str) -> TokenStream {
    let lines = text.lines().map(|l| {
        let l = format!(" {l}");
        quote!(#[doc = #l])
    });
    quote!(#(#lines)*)
}
