//! `api!("path/to/api-spec")`: generates the typed API of a spec directory;
//! `templates!("templates.toml")`: typed subscribe templates of an account;
//! `__role_enum!`: the runtime's `Role` enum from the spec's role names.
//! The work is done by `wechat-msg-codegen`; this crate only resolves the
//! path and turns spec mistakes into compile errors.

use std::path::PathBuf;

use proc_macro::TokenStream;
use quote::quote;
use syn::parse::{Parse, ParseStream};

/// A macro's input: `"path"` or `crate = some::path, "path"`.
struct Input {
    /// The runtime crate's path, when given.
    krate: Option<syn::Path>,
    /// The spec directory or templates file.
    path: syn::LitStr,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let krate = if input.peek(syn::Token![crate]) {
            input.parse::<syn::Token![crate]>()?;
            input.parse::<syn::Token![=]>()?;
            let path = syn::Path::parse_mod_style(input)?;
            input.parse::<syn::Token![,]>()?;
            Some(path)
        } else {
            None
        };
        let path = input.parse()?;
        if !input.is_empty() {
            return Err(input.error(
                "expected `\"path\"` or `crate = some::path, \"path\"`, and nothing after",
            ));
        }
        Ok(Input { krate, path })
    }
}

impl Input {
    /// The runtime crate's path in the generated code.
    fn runtime(&self) -> proc_macro2::TokenStream {
        match &self.krate {
            Some(path) => quote!(#path),
            None => quote!(::wechat_msg),
        }
    }
}

/// Every mistake as its own `compile_error!` at the macro's literal.
fn errors(span: proc_macro2::Span, errors: &[wechat_msg_codegen::SpecError]) -> TokenStream {
    let errors = errors.iter().map(|e| {
        let message = e.to_string();
        quote::quote_spanned!(span=> ::core::compile_error!(#message);)
    });
    quote!(#(#errors)*).into()
}

/// Generates the API of the spec directory named by a string literal.
///
/// A relative path is resolved against the calling crate's
/// `CARGO_MANIFEST_DIR`. Every mistake in the spec becomes its own compile
/// error, `api-spec/file.toml:LINE:COL: message`.
///
/// `api!(crate = some::path, "dir")` names the runtime crate `some::path` in
/// the generated code, for a renamed dependency (`crate = ::wx`) or a
/// re-export (`crate = crate::deps::wechat_msg`), like serde's `crate`.
#[proc_macro]
pub fn api(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as Input);
    let span = input.path.span();
    let dir = resolve(&input.path.value());
    match wechat_msg_codegen::expand_with_runtime(&dir, &input.runtime()) {
        Ok(tokens) => tokens.into(),
        Err(list) => errors(span, &list),
    }
}

/// Generates one typed struct per subscribe template of a templates file
/// named by a string literal (resolved like [`api!`]'s directory).
///
/// Each template becomes a struct with one field per keyword, typed by the
/// keyword's type, and a typestate builder: a missing keyword or a value of
/// the wrong type does not compile. Mistakes in the file become compile
/// errors `FILE:LINE:COL: message`. The file format is described in
/// `wechat_msg_codegen::templates`. `templates!(crate = some::path, "file")`
/// names the runtime crate as [`api!`] does.
#[proc_macro]
pub fn templates(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as Input);
    let span = input.path.span();
    let shown = input.path.value();
    let path = resolve(&shown);
    let expanded = wechat_msg_codegen::with_runtime(&input.runtime(), || {
        wechat_msg_codegen::templates::expand_templates(&path, &shown)
    });
    match expanded {
        Ok(tokens) => tokens.into(),
        Err(list) => errors(span, &list),
    }
}

/// The runtime's `Role` enum: its declaration without variants, filled in
/// with one variant per role the spec knows (`wechat_msg_codegen::role_enum`).
#[doc(hidden)]
#[proc_macro]
pub fn __role_enum(input: TokenStream) -> TokenStream {
    wechat_msg_codegen::role_enum(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The spec directory (or templates file): absolute as given, else under
/// the calling crate's `CARGO_MANIFEST_DIR`.
fn resolve(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        return path;
    }
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(path)
}
