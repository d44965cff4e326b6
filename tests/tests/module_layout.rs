//! How the workspace's modules import each other. No crate has a circle
//! among its top-level modules: if module `a` names `crate::b`, then `b`
//! (and what `b` names, on and on) never names `crate::a` (unit tests and
//! comments are not counted). The emulator goes further: its modules stand
//! in one order, and each imports only modules below it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The emulator's modules, bottom to top: each imports only modules
/// before it (the order its crate docs state).
const EMULATOR_ORDER: &[&str] = &[
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

const CRATES: &[&str] = &[
    "wechat-msg",
    "wechat-msg-codegen",
    "wechat-msg-macros",
    "wechat-msg-cli",
    "wechat-msg-emulator",
    "tests",
];

/// A file's text without its comments and its `#[cfg(test)] mod tests`.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The code of each top-level module of the crate in `src`, all its files
/// together; the crate root is `""`.
fn modules(src: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, src: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, src, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let first = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let top = first.trim_end_matches(".rs").to_owned();
            let top = if top == "lib" || top == "main" {
                String::new()
            } else {
                top
            };
            let text = std::fs::read_to_string(&path).unwrap();
            out.entry(top).or_default().push_str(&code(&text));
        }
    }
    let mut out = BTreeMap::new();
    walk(src, src, &mut out);
    out
}

/// The modules `code` names as `crate::name` or `crate::{name, ...}`.
fn named(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
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
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// A path of modules from `from` back to itself, if there is one.
fn circle(
    from: &str,
    at: &str,
    edges: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    seen: &mut BTreeSet<String>,
) -> bool {
    for next in &edges[at] {
        if next == from {
            path.push(next.clone());
            return true;
        }
        if seen.insert(next.clone()) {
            path.push(next.clone());
            if circle(from, next, edges, path, seen) {
                return true;
            }
            path.pop();
        }
    }
    false
}

#[test]
fn no_crate_has_a_circle_among_its_modules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut problems = Vec::new();
    for krate in CRATES {
        let modules = modules(&root.join(krate).join("src"));
        let edges: BTreeMap<String, BTreeSet<String>> = modules
            .iter()
            .filter(|(name, _)| !name.is_empty())
            .map(|(name, code)| {
                let to = named(code)
                    .into_iter()
                    .filter(|n| n != name && modules.contains_key(n))
                    .collect();
                (name.clone(), to)
            })
            .collect();
        for name in edges.keys() {
            let mut path = vec![name.clone()];
            if circle(name, name, &edges, &mut path, &mut BTreeSet::new()) {
                problems.push(format!("{krate}: {}", path.join(" -> ")));
                break;
            }
        }
    }
    assert!(
        problems.is_empty(),
        "module circles:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_finds_a_circle() {
    let a = named("use crate::b::X;\nfn f() { crate::{c, d}::g(); }");
    assert_eq!(a, ["b", "c", "d"].map(String::from).into_iter().collect());
    let edges: BTreeMap<String, BTreeSet<String>> =
        [("a", vec!["b"]), ("b", vec!["c"]), ("c", vec!["a"])]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_iter().map(String::from).collect()))
            .collect();
    let mut path = vec!["a".to_owned()];
    assert!(circle("a", "a", &edges, &mut path, &mut BTreeSet::new()));
    assert_eq!(path, ["a", "b", "c", "a"]);
    assert_eq!(
        code("x\n// crate::y\n#[cfg(test)]\nmod tests { crate::z }"),
        "x"
    );
}

#[test]
fn emulator_modules_import_only_the_modules_below_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let src = root.join("wechat-msg-emulator").join("src");
    let mut seen = Vec::new();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        let Some(position) = EMULATOR_ORDER.iter().position(|m| *m == module) else {
            problems.push(format!("{module}: not placed in EMULATOR_ORDER"));
            continue;
        };
        seen.push(module.clone());
        // Doc links count here: a module's docs name only what is below it.
        let source = std::fs::read_to_string(&path).unwrap();
        for import in named(&source) {
            match EMULATOR_ORDER.iter().position(|m| *m == import) {
                Some(p) if p < position => {}
                Some(_) => problems.push(format!("{module} imports {import}, which is above it")),
                None => problems.push(format!(
                    "{module} imports {import}, which is not in EMULATOR_ORDER"
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        seen.len(),
        EMULATOR_ORDER.len(),
        "a module of EMULATOR_ORDER is gone: {seen:?}"
    );
}

#[test]
fn imports_are_read_from_both_forms() {
    let found =
        named("use crate::state::Shared;\nuse crate::{body, cloud::x};\n/// [`crate::Emulator`]");
    assert_eq!(found, ["body", "cloud", "state"].map(String::from).into());
}
