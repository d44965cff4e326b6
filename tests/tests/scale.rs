//! The synthetic spec of 300 endpoints loads and generates, with every
//! endpoint, type and errcode in the model (no compiler in the loop; the
//! compile times are in BENCHMARKS.md, measured by scripts/scale-build.sh).

use wechat_msg_tests::synthetic;

#[test]
fn three_hundred_endpoints_load_and_generate() {
    let dir = std::env::temp_dir().join(format!("wechat-msg-scale-{}", std::process::id()));
    synthetic::write_spec(300, &dir).unwrap();
    let loaded = wechat_msg_codegen::load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let model = match loaded {
        Ok(model) => model,
        Err(errors) => panic!(
            "the synthetic spec is invalid:\n{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    assert_eq!(model.endpoints.len(), 300);
    // Per endpoint: request, target, two payloads; plus TemplateKeyword.
    assert_eq!(model.objects.len(), 300 * 4 + 1);
    assert_eq!(model.enums.len(), 1);
    for endpoint in &model.endpoints {
        // Three shared codes and two of its own.
        assert_eq!(endpoint.errcodes.len(), 5, "{}", endpoint.name);
    }
    let tokens = wechat_msg_codegen::generate(&model).to_string();
    for needle in [
        "pub struct Synth0000Request",
        "pub struct Synth0299Request",
        "pub enum Synth0299Body",
        "pub enum Synth0299SendErrcode",
        "pub static ENDPOINTS",
    ] {
        assert!(tokens.contains(needle), "the output lacks `{needle}`");
    }
    // Every spec file is tracked, so editing any one rebuilds the crate.
    assert_eq!(tokens.matches("include_bytes").count(), 300 + 2);
}
