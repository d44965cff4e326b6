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
//!
//! The same pipeline as the spec's, one way: `raw` (TOML with positions) ->
//! `validate` -> `model` ([`Templates`]) -> `generate` (tokens).

mod generate;
mod model;
mod raw;
mod validate;

use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;

use crate::error::{LineIndex, Pos, SpecError, SpecErrors};

pub use generate::generate_templates;
pub use model::{Keyword, Template, Templates, keyword_type};

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
    let templates =
        raw::read(&index, text, &mut errors).map(|raw| validate::validate(raw, &mut errors));
    match templates {
        Some(templates) if errors.is_empty() => Ok(templates),
        _ => Err(errors.into_sorted()),
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
