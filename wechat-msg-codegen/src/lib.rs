//! The wechat-msg generator as a plain library: read the spec, validate it
//! into a model, generate tokens. The proc macro (`wechat-msg-macros`) is a
//! thin shell around [`expand`]; tools and tests call [`load`] and
//! [`generate`] directly.
//!
//! ```text
//! api-spec/*.toml --read--> raw (positions) --validate--> Model --generate--> TokenStream
//! templates.toml  --read--> raw (positions) --validate--> Templates --generate--> TokenStream
//! ```
//!
//! [`templates`] reads a user's subscribe templates file the same way.
#![deny(missing_docs)]

pub mod error;
mod generate;
pub mod model;
mod raw;
pub mod templates;
mod validate;

use std::path::{Path, PathBuf};

pub use error::{SpecError, SpecErrors};
pub use generate::roles::role_enum;
pub use generate::{generate, with_runtime};
pub use model::Model;
pub use validate::sdk_snake_case;

/// Reads every `*.toml` file of `dir` (in name order) and validates them
/// together. Mistakes are all reported, sorted by file and line, with paths
/// shown as `<dir name>/<file>`.
pub fn load(dir: &Path) -> Result<Model, Vec<SpecError>> {
    let shown_dir = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let no_pos = |message: String| {
        vec![SpecError {
            pos: error::Pos {
                file: shown_dir.clone(),
                line: 1,
                col: 1,
            },
            message,
        }]
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        no_pos(format!(
            "cannot read the spec directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(no_pos(format!(
            "no .toml files in the spec directory {}",
            dir.display()
        )));
    }
    let mut errors = SpecErrors::default();
    let mut raws = Vec::new();
    for path in &paths {
        let shown = format!(
            "{shown_dir}/{}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                errors.push(
                    &error::Pos {
                        file: shown,
                        line: 1,
                        col: 1,
                    },
                    format!("cannot read: {e}"),
                );
                continue;
            }
        };
        let index = error::LineIndex::new(shown, &text);
        raws.push(raw::read_file(&index, &text, &mut errors));
    }
    let model = validate::validate(&raws, &mut errors);
    match model {
        Some(mut model) if errors.is_empty() => {
            model.files = paths
                .iter()
                .map(|p| p.canonicalize().unwrap_or_else(|_| p.clone()))
                .collect();
            Ok(model)
        }
        _ => Err(errors.into_sorted()),
    }
}

/// Loads `dir` and generates its API, or returns every mistake.
pub fn expand(dir: &Path) -> Result<proc_macro2::TokenStream, Vec<SpecError>> {
    load(dir).map(|model| generate(&model))
}

/// [`expand`], with the generated code naming the runtime crate `runtime`
/// (`::wx` for a dependency renamed `wx`) instead of `::wechat_msg`.
pub fn expand_with_runtime(
    dir: &Path,
    runtime: &proc_macro2::TokenStream,
) -> Result<proc_macro2::TokenStream, Vec<SpecError>> {
    load(dir).map(|model| with_runtime(runtime, || generate(&model)))
}
