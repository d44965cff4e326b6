//! `api!("path/to/api-spec")`: generates the typed API of a spec directory;
//! `templates!("templates.toml")`: typed subscribe templates of an account.
//! The work is done by `wechat-msg-codegen`; this crate only resolves the
//! path and turns spec mistakes into compile errors.

use std::path::PathBuf;

use proc_macro::TokenStream;
use quote::quote;

/// Generates the API of the spec directory named by a string literal.
///
/// A relative path is resolved against `WECHAT_MSG_SPEC_ROOT` when that
/// environment variable is set and holds the directory (tests run from a
/// moved project), otherwise against `CARGO_MANIFEST_DIR`. Every mistake in the spec becomes its own
/// compile error, `api-spec/file.toml:LINE:COL: message`.
#[proc_macro]
pub fn api(input: TokenStream) -> TokenStream {
    let lit = syn::parse_macro_input!(input as syn::LitStr);
    let span = lit.span();
    let dir = resolve(&lit.value());
    match wechat_msg_codegen::expand(&dir) {
        Ok(tokens) => tokens.into(),
        Err(errors) => {
            let errors = errors.iter().map(|e| {
                let message = e.to_string();
                quote::quote_spanned!(span=> ::core::compile_error!(#message);)
            });
            quote!(#(#errors)*).into()
        }
    }
}

/// Generates one typed struct per subscribe template of a templates file
/// named by a string literal (resolved like [`api!`]'s directory).
///
/// Each template becomes a struct with one field per keyword, typed by the
/// keyword's type, and a typestate builder: a missing keyword or a value of
/// the wrong type does not compile. Mistakes in the file become compile
/// errors `FILE:LINE:COL: message`. The file format is described in
/// `wechat_msg_codegen::templates`.
#[proc_macro]
pub fn templates(input: TokenStream) -> TokenStream {
    let lit = syn::parse_macro_input!(input as syn::LitStr);
    let span = lit.span();
    let shown = lit.value();
    let path = resolve(&shown);
    match wechat_msg_codegen::templates::expand_templates(&path, &shown) {
        Ok(tokens) => tokens.into(),
        Err(errors) => {
            let errors = errors.iter().map(|e| {
                let message = e.to_string();
                quote::quote_spanned!(span=> ::core::compile_error!(#message);)
            });
            quote!(#(#errors)*).into()
        }
    }
}

/// The spec directory (or templates file): absolute as given; a relative path under
/// `WECHAT_MSG_SPEC_ROOT` when that is set and the directory exists there,
/// else under `CARGO_MANIFEST_DIR`. The existence check keeps a crate whose
/// spec sits beside its manifest building while a test sets the variable
/// for its own generated projects.
fn resolve(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    if path.is_absolute() {
        return path;
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_default();
    match std::env::var_os("WECHAT_MSG_SPEC_ROOT").map(PathBuf::from) {
        Some(root) if root.join(&path).exists() => root.join(path),
        _ => manifest.join(path),
    }
}
