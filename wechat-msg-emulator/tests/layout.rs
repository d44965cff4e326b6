//! The emulator's modules import in one direction: each only from modules
//! before it in [`ORDER`] (the order the crate docs state).

use std::collections::BTreeSet;
use std::path::Path;

/// Bottom to top.
const ORDER: &[&str] = &[
    "clock",
    "media",
    "tokens",
    "faults",
    "error",
    "typed",
    "conn",
    "inspect",
    "events",
    "activities",
    "config",
    "conversation",
    "templates",
    "subscriptions",
    "security",
    "diagnostics",
    "snapshot",
    "state",
    "pushes",
    "world",
    "calls",
    "body",
    "reply",
    "deliver",
    "media_checks",
    "layers",
    "rid_log",
    "http",
    "cloud",
    "control",
    "ui",
    "router",
    "server",
    "lib",
];

/// The modules `source` names as `crate::name` or `crate::{name, ...}`.
fn imports(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(group.len())]
                .split(',')
                .collect(),
            None => vec![rest],
        };
        for name in names {
            let name: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            // Items of the crate root (`crate::Emulator`) are not modules.
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn modules_import_only_the_modules_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut seen = Vec::new();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(position) = ORDER.iter().position(|m| *m == module) else {
            problems.push(format!("{module}: not placed in ORDER"));
            continue;
        };
        seen.push(module.clone());
        let source = std::fs::read_to_string(&path).unwrap();
        for import in imports(&source) {
            match ORDER.iter().position(|m| *m == import) {
                Some(p) if p < position => {}
                Some(_) => problems.push(format!("{module} imports {import}, which is above it")),
                None => problems.push(format!("{module} imports {import}, which is not in ORDER")),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        seen.len(),
        ORDER.len(),
        "a module of ORDER is gone: {seen:?}"
    );
}

#[test]
fn imports_are_read_from_both_forms() {
    let found =
        imports("use crate::state::Shared;\nuse crate::{body, cloud::x};\n/// [`crate::Emulator`]");
    assert_eq!(found, ["body", "cloud", "state"].map(String::from).into());
}
