//! Compile-fail tests: broken specs given to `wechat_msg::api!` (each mistake
//! a compile error `api-spec/FILE.toml:LINE:COL: message` at the macro call)
//! and builders missing a required field (an error naming the field).
//!
//! trybuild compiles the cases from a project of its own, so the cases'
//! relative spec paths cannot rely on `CARGO_MANIFEST_DIR`: they are
//! resolved against `WECHAT_MSG_SPEC_ROOT`, set to this package's directory.
//! The test re-runs itself with that variable set rather than setting it in
//! its own process.

use std::process::Command;

const SPEC_ROOT: &str = "WECHAT_MSG_SPEC_ROOT";

#[test]
fn compile_fail() {
    let root = env!("CARGO_MANIFEST_DIR");
    if std::env::var_os(SPEC_ROOT).as_deref() != Some(root.as_ref()) {
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["compile_fail", "--exact", "--nocapture", "--test-threads=1"])
            .env(SPEC_ROOT, root)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "the compile-fail cases failed (output above)"
        );
        return;
    }
    // One run for every case: trybuild builds the dependencies once.
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/*.rs");
}
