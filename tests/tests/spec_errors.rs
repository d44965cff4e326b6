//! Broken specs under `tests/ui/specs/` loaded directly with
//! `wechat_msg_codegen::load`: every mistake is reported, at once, each as
//! `api-spec/FILE.toml:LINE:COL: message`. The same specs go through the
//! proc macro in `compile_fail.rs`; these run without a compiler in the loop.

use std::path::{Path, PathBuf};

fn spec(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ui/specs")
        .join(case)
        .join("api-spec")
}

/// The messages of loading the spec of `case`; panics if it loads.
fn mistakes(case: &str) -> Vec<String> {
    match wechat_msg_codegen::load(&spec(case)) {
        Ok(_) => panic!("the spec of `{case}` loaded without a mistake"),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[track_caller]
fn assert_mistakes(case: &str, expected: &[&str]) {
    assert_eq!(mistakes(case), expected, "spec `{case}`");
}

#[test]
fn unknown_key() {
    assert_mistakes(
        "unknown_key",
        &[
            "api-spec/message.toml:18:1: unknown key `requried` in a field; expected one of: http, cloud, rust, type, required, role, in, keywords, join, verbatim, errcode_missing, errcode_invalid, doc",
        ],
    );
}

#[test]
fn unknown_type() {
    assert_mistakes(
        "unknown_type",
        &[
            "api-spec/message.toml:24:8: unknown type `int`; expected string, integer, bool, file, map<T>, list<T> or a type name",
        ],
    );
}

#[test]
fn duplicate_wire_name_per_form() {
    assert_mistakes(
        "duplicate_wire_name",
        &[
            "api-spec/message.toml:22:8: duplicate HTTP wire name `page`; it is already used at api-spec/message.toml:16:8",
            "api-spec/message.toml:23:9: duplicate cloud wire name `page`; it is already used at api-spec/message.toml:17:9",
            "api-spec/message.toml:41:9: duplicate HTTP wire name `text`; it is already used at api-spec/message.toml:29:8",
            "api-spec/message.toml:41:9: duplicate cloud wire name `text`; it is already used at api-spec/message.toml:30:9",
        ],
    );
}

#[test]
fn duplicate_rust_name() {
    assert_mistakes(
        "duplicate_rust_name",
        &[
            "api-spec/message.toml:25:8: duplicate Rust field name `title`; it is already used at api-spec/message.toml:15:1",
            "api-spec/message.toml:30:8: duplicate Rust name `Message` (type); `Message` is already defined at api-spec/message.toml:12:8",
        ],
    );
}

#[test]
fn camel_case_name_the_sdk_rule_does_not_map_onto_the_snake_name() {
    assert_mistakes(
        "camel_case_mismatch",
        &[
            "api-spec/message.toml:17:9: cloud name `msgType` becomes `msg_type` under wx-server-sdk's rule (each capital X -> _x), not the HTTP name `msgtype`",
            "api-spec/message.toml:24:9: cloud name `thumbMediaID` becomes `thumb_media_i_d` under wx-server-sdk's rule (each capital X -> _x), not the HTTP name `thumb_media_id`",
        ],
    );
}

#[test]
fn union_variant_without_payload() {
    assert_mistakes(
        "variant_without_payload",
        &[
            "api-spec/message.toml:33:1: union variant `image` has no payload: give it `payload = \"TypeName\"`, the object sent under `image`",
        ],
    );
}

#[test]
fn duplicate_errcode_in_the_shared_table_and_in_an_endpoint() {
    assert_mistakes(
        "duplicate_errcode",
        &[
            "api-spec/errcodes.toml:10:8: duplicate errcode 40001; it is already listed at api-spec/errcodes.toml:4:8",
            "api-spec/message.toml:17:8: duplicate errcode 45047; it is already listed at api-spec/message.toml:11:8",
        ],
    );
}

#[test]
fn undefined_type_reference() {
    assert_mistakes(
        "undefined_type",
        &[
            "api-spec/message.toml:8:11: the request refers to undefined type `Mesage`",
            "api-spec/message.toml:25:8: undefined type `Picture`; define it with `[[type]]` or `[[enum]]`",
            "api-spec/message.toml:31:8: undefined type `Keyword`; define it with `[[type]]` or `[[enum]]`",
        ],
    );
}

#[test]
fn toml_syntax_error() {
    assert_mistakes(
        "toml_syntax",
        &["api-spec/message.toml:6:30: invalid TOML: invalid basic string, expected `\"`"],
    );
}

#[test]
fn keyword_types_with_a_bad_pattern_a_duplicate_or_an_impossible_truncate() {
    assert_mistakes(
        "bad_keyword",
        &[
            "api-spec/message.toml:43:11: invalid pattern: unclosed character class",
            "api-spec/message.toml:49:11: the pattern must match the whole value: anchor every alternative with `^` at the start and `$` at the end",
            "api-spec/message.toml:53:8: duplicate keyword type `thing`; it is already defined at api-spec/message.toml:35:8",
            "api-spec/message.toml:63:12: `truncate` ends a cut value in `…`, which the pattern refuses",
        ],
    );
}

#[test]
fn every_mistake_of_a_spec_is_reported_at_once_in_file_and_line_order() {
    assert_mistakes(
        "many_mistakes",
        &[
            "api-spec/message.toml:5:10: unknown method `PUT`; expected GET or POST",
            "api-spec/message.toml:16:9: cloud name `toUser` becomes `to_user` under wx-server-sdk's rule (each capital X -> _x), not the HTTP name `touser`",
            "api-spec/message.toml:24:8: undefined type `Picture`; define it with `[[type]]` or `[[enum]]`",
            "api-spec/message.toml:33:1: union variant `text` has no payload: give it `payload = \"TypeName\"`, the object sent under `text`",
            "api-spec/types.toml:8:8: duplicate errcode -1; it is already listed at api-spec/types.toml:2:8",
            "api-spec/types.toml:10:9: unknown errcode class `sometimes`; expected one of: retry, refresh_token, permanent",
            "api-spec/types.toml:16:1: unknown key `colour` in a type; expected one of: name, doc, field, union",
            "api-spec/types.toml:21:8: unknown type `text`; expected string, integer, bool, file, map<T>, list<T> or a type name",
        ],
    );
}

#[test]
fn every_broken_spec_has_a_test_here_and_a_compile_fail_case() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut cases: Vec<String> = std::fs::read_dir(root.join("specs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert_eq!(
        cases,
        [
            "bad_keyword",
            "camel_case_mismatch",
            "duplicate_errcode",
            "duplicate_rust_name",
            "duplicate_wire_name",
            "form_join_verbatim",
            "many_mistakes",
            "toml_syntax",
            "undefined_type",
            "unknown_key",
            "unknown_type",
            "variant_without_payload",
        ]
    );
    for case in &cases {
        let ui = root.join(format!("spec_{case}.rs"));
        assert!(ui.is_file(), "{} is missing", ui.display());
        assert!(
            ui.with_extension("stderr").is_file(),
            "no .stderr for {case}"
        );
    }
}

#[test]
fn the_repository_spec_loads() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../api-spec");
    if let Err(errors) = wechat_msg_codegen::load(&spec) {
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        panic!("api-spec/ has mistakes:\n{}", errors.join("\n"));
    }
}

#[test]
fn form_bodies_joined_lists_and_verbatim_keys_misused() {
    assert_mistakes(
        "form_join_verbatim",
        &[
            "api-spec/message.toml:7:11: query field `tags` of `ListQuery` must be a string, integer, bool or enum (a list of them needs `join`, the separator: `join = \",\"`)",
            "api-spec/message.toml:14:11: form field `extra` of `AddForm` must be a scalar or a list of scalars (sent as repeated keys)",
            "api-spec/message.toml:27:8: `join = \"|\"` is not a separator the query keeps as is; expected one of: , ;",
            "api-spec/message.toml:42:8: `join` is for a list of strings, integers, bools or enums, and `page` is `integer`",
            "api-spec/message.toml:51:9: cloud name `kidList` becomes `kid_list` under wx-server-sdk's rule (each capital X -> _x), not the HTTP name `kidList`",
            "api-spec/message.toml:53:8: `join` joins a list in the query; give `kidList` `in = \"query\"` (a form body sends a list as repeated keys)",
            "api-spec/message.toml:58:9: a `verbatim` key is the same in both forms; cloud name `sceneDESC` differs from the HTTP name `sceneDesc`",
            "api-spec/message.toml:66:12: `verbatim` is only for keys with capitals; wx-server-sdk's rule already keeps `tid` as is, remove `verbatim`",
        ],
    );
}
