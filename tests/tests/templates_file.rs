//! The templates file `wechat_msg::templates!` reads: every mistake is
//! reported at its `FILE:LINE:COL`, all at once.

use wechat_msg_codegen::templates::{keyword_type, load_templates, parse_templates};

fn ui(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ui/templates")
        .join(name)
}

#[test]
fn a_good_file_reads_with_types_from_keys() {
    let t = load_templates(&ui("shop.toml"), "shop.toml").unwrap();
    assert_eq!(t.templates.len(), 3);
    let shipped = &t.templates[0];
    assert_eq!(
        (shipped.id.as_str(), shipped.rust.as_str()),
        ("TEMPLATE_ID", "OrderShipped")
    );
    let types: Vec<&str> = shipped.keywords.iter().map(|k| k.ty.as_str()).collect();
    assert_eq!(types, ["thing", "time", "phrase", "short_thing"]);
    assert_eq!(t.templates[1].keywords[1].ty, "character_string");
}

#[test]
fn every_mistake_is_reported_at_its_position() {
    let errors = load_templates(&ui("mistakes.toml"), "mistakes.toml").unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    let expected = [
        "mistakes.toml:3:8: `order_shipped` is not a Rust type name (UpperCamelCase, ASCII letters and digits)",
        "mistakes.toml:5:1: unknown key `colour` in a template; expected one of: id, rust, title, doc, keyword",
        "mistakes.toml:9:8: `type` is `time` but the key `thing1` makes it `thing`",
        "mistakes.toml:12:7: keyword `thing1` is already listed at mistakes.toml:8:7",
        "mistakes.toml:13:8: `type` is not a Rust field name (snake_case, ASCII, not a Rust keyword)",
        "mistakes.toml:16:7: keyword key `Thing` is not a type followed by digits (`thing1`, `character_string12`)",
        "mistakes.toml:19:6: template id `A` is already used at mistakes.toml:2:6",
    ];
    assert_eq!(shown, expected, "{shown:#?}");
}

#[test]
fn toml_syntax_and_missing_keys() {
    let errors = parse_templates("[[template]]\nid = \n", "t.toml").unwrap_err();
    assert!(
        errors[0]
            .to_string()
            .starts_with("t.toml:2:6: invalid TOML"),
        "{errors:?}"
    );
    let errors = parse_templates("[[template]]\nid = \"X\"\n", "t.toml").unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "t.toml:1:1: missing key `rust` in a template",
            "t.toml:1:1: missing key `title` in a template",
        ]
    );
    let errors = parse_templates(
        "[[template]]\nid = \"X\"\nrust = \"X\"\ntitle = \"x\"\n[[template.keyword]]\nkey = \"phrase1\"\nvalues = []\n",
        "t.toml",
    )
    .unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "t.toml:7:10: `values` must list at least one value"
    );
}

#[test]
fn keyword_type_is_the_key_without_its_digits() {
    assert_eq!(keyword_type("thing1"), Some("thing"));
    assert_eq!(keyword_type("character_string12"), Some("character_string"));
    assert_eq!(keyword_type("short_thing3"), Some("short_thing"));
    assert_eq!(keyword_type("thing"), None);
    assert_eq!(keyword_type("1"), None);
    assert_eq!(keyword_type("Thing1"), None);
    assert_eq!(keyword_type("thing_1"), None);
}
