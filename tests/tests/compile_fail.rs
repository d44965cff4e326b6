//! Compile-fail tests: broken specs given to `wechat_msg::api!` (each mistake
//! a compile error `api-spec/FILE.toml:LINE:COL: message` at the macro call)
//! and builders missing a required field (an error naming the field).
//!
//! trybuild compiles the cases as a project of its own, in
//! `TARGET/tests/trybuild/wechat-msg-tests/`, which is the cases'
//! `CARGO_MANIFEST_DIR`; their spec paths (`ui/specs/...`,
//! `ui/templates/...`) are relative to it like any crate's. The test copies
//! `ui/specs` and `ui/templates` there first, so the macros need nothing
//! beyond their documented contract.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory trybuild builds the cases in: `tests/trybuild/<package>`
/// under the target directory `cargo metadata` reports, as trybuild finds it.
fn trybuild_project() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version=1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let target = metadata["target_directory"]
        .as_str()
        .expect("cargo metadata names the target directory");
    Path::new(target)
        .join("tests")
        .join("trybuild")
        .join(env!("CARGO_PKG_NAME"))
}

/// Replaces `to` with a copy of the directory tree `from`.
fn copy_tree(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn compile_fail() {
    let ui = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let project = trybuild_project();
    for dir in ["specs", "templates"] {
        copy_tree(&ui.join(dir), &project.join("ui").join(dir));
    }
    // One run for every case: trybuild builds the dependencies once.
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
