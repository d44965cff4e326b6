//! The relay cloud function in `cloud-relay/`: its config grants exactly the
//! spec's endpoints, and its own node tests pass.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn relay_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("cloud-relay")
}

/// Whoever adds an endpoint to `api-spec/` must add its cloud-call name to
/// `cloud-relay/config.json` (`permissions.openapi`): without it the relay
/// may not call it.
#[test]
fn config_grants_exactly_the_endpoints_of_the_spec() {
    let path = relay_dir().join("config.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let config: serde_json::Value = serde_json::from_str(&text).unwrap();
    let listed: Vec<&str> = config["permissions"]["openapi"]
        .as_array()
        .expect("permissions.openapi is an array")
        .iter()
        .map(|v| v.as_str().expect("names are strings"))
        .collect();
    let granted: BTreeSet<&str> = listed.iter().copied().collect();
    assert_eq!(
        granted.len(),
        listed.len(),
        "duplicate names in {}",
        path.display()
    );
    // Endpoints WeChat offers no cloud call for (`cloud = false`) are sent
    // over HTTPS only: the relay is not granted them.
    let spec: BTreeSet<&str> = wechat_msg::ENDPOINTS
        .iter()
        .filter(|e| e.cloud)
        .map(|e| e.name)
        .collect();
    let missing: Vec<_> = spec.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&spec).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "cloud-relay/config.json permissions.openapi disagrees with api-spec/: \
         add {missing:?}, remove {extra:?}"
    );
}

#[test]
fn relay_logic_passes_its_node_tests() {
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".to_owned());
    let found = Command::new(&node).arg("--version").output();
    if found.is_err() {
        println!("note: `{node}` not found; skipping the relay's node tests (install Node >= 18)");
        return;
    }
    // Test files by name: how `node --test DIR` reads DIR differs across
    // Node versions.
    let mut files: Vec<PathBuf> = std::fs::read_dir(relay_dir().join("test"))
        .expect("cloud-relay/test exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".test.js"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no tests in cloud-relay/test");
    let output = Command::new(&node)
        .arg("--test")
        .args(&files)
        .current_dir(relay_dir())
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "node --test cloud-relay/test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
