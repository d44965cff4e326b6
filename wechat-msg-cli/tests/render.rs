//! The `wechat-msg` binary itself: `render` on every docs example in both
//! directions, `endpoints` in both formats, and a table of bad inputs that
//! must each exit 2 with one error line naming the field and nothing on
//! standard output.
//!
//! The examples are the golden fixtures of `tests/golden/`; output is
//! compared as parsed JSON.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Map, Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_wechat-msg");

/// What a run of the binary gave.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the wechat-msg binary runs");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            // The binary may exit on its arguments before reading its input.
            if let Err(e) = input.write_all(text.as_bytes()) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
            }
        }
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Runs and expects success with JSON on standard output.
fn json_of(args: &[&str], stdin: Option<&str>) -> Value {
    let r = run(args, stdin);
    assert_eq!(r.code, 0, "wechat-msg {args:?} failed: {}", r.stderr);
    assert_eq!(r.stderr, "", "wechat-msg {args:?} wrote to stderr");
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("wechat-msg {args:?} printed no JSON ({e}):\n{}", r.stdout))
}

const EXAMPLES: &[(&str, &str)] = &[
    ("customerServiceMessage.send", "text"),
    ("customerServiceMessage.send", "image"),
    ("customerServiceMessage.send", "link"),
    ("customerServiceMessage.send", "miniprogrampage"),
    ("uniformMessage.send", "send"),
    ("templateMessage.send", "send"),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn golden(api: &str, name: &str, form: &str) -> PathBuf {
    repo()
        .join("tests/golden")
        .join(api)
        .join(format!("{name}.{form}.json"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// wx-server-sdk's rule, written here independently: every key, recursively,
/// each ASCII capital `X` -> `_x`; template `data` keys are user data and
/// are kept (the docs' keywords have no capitals, so the SDK agrees here).
fn sdk_cloud_to_http(value: &Value, user_keys: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let key = if user_keys {
                    key.clone()
                } else {
                    key.chars()
                        .flat_map(|c| {
                            if c.is_ascii_uppercase() {
                                vec!['_', c.to_ascii_lowercase()]
                            } else {
                                vec![c]
                            }
                        })
                        .collect()
                };
                let data = !user_keys && key == "data";
                out.insert(key, sdk_cloud_to_http(child, data));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[test]
fn each_example_renders_to_its_own_form_unchanged() {
    for &(api, name) in EXAMPLES {
        for form in ["http", "cloud"] {
            let path = golden(api, name, form);
            let printed = json_of(
                &[
                    "render",
                    api,
                    "--from",
                    form,
                    "--to",
                    form,
                    path.to_str().unwrap(),
                ],
                None,
            );
            assert_eq!(printed, read_json(&path), "{api}/{name} ({form})");
        }
    }
}

#[test]
fn each_cloud_example_renders_to_what_the_sdk_sends() {
    for &(api, name) in EXAMPLES {
        let path = golden(api, name, "cloud");
        let printed = json_of(
            &[
                "render",
                api,
                "--from",
                "cloud",
                "--to",
                "http",
                path.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(
            printed,
            sdk_cloud_to_http(&read_json(&path), false),
            "{api}/{name}"
        );
    }
}

#[test]
fn each_http_example_renders_to_a_cloud_form_the_sdk_turns_back() {
    for &(api, name) in EXAMPLES {
        let http = golden(api, name, "http");
        let cloud = json_of(
            &[
                "render",
                api,
                "--from",
                "http",
                "--to",
                "cloud",
                http.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(
            sdk_cloud_to_http(&cloud, false),
            read_json(&http),
            "{api}/{name}"
        );
        // Where the docs' two examples agree, it is the docs' cloud example.
        if api != "uniformMessage.send" {
            assert_eq!(
                cloud,
                read_json(&golden(api, name, "cloud")),
                "{api}/{name}"
            );
        }
    }
}

#[test]
fn http_to_cloud_to_http_through_the_binary_is_lossless() {
    for &(api, name) in EXAMPLES {
        let http = golden(api, name, "http");
        let cloud = json_of(
            &["render", api, "--to", "cloud", http.to_str().unwrap()],
            None,
        );
        let back = json_of(
            &["render", api, "--from", "cloud"],
            Some(&cloud.to_string()),
        );
        assert_eq!(back, read_json(&http), "{api}/{name}");
    }
}

#[test]
fn the_body_is_read_from_standard_input_without_a_file_or_with_dash() {
    let path = golden("customerServiceMessage.send", "link", "http");
    let text = std::fs::read_to_string(&path).unwrap();
    let expected = read_json(&path);
    assert_eq!(
        json_of(&["render", "customerServiceMessage.send"], Some(&text)),
        expected
    );
    assert_eq!(
        json_of(&["render", "customerServiceMessage.send", "-"], Some(&text)),
        expected
    );
}

/// The request bodies in `examples/`, by file: endpoint, docs example, form.
const REPO_EXAMPLES: &[(&str, &str, &str, &str)] = &[
    ("text.json", "customerServiceMessage.send", "text", "http"),
    ("image.json", "customerServiceMessage.send", "image", "http"),
    ("link.json", "customerServiceMessage.send", "link", "http"),
    (
        "link.cloud.json",
        "customerServiceMessage.send",
        "link",
        "cloud",
    ),
    (
        "miniprogrampage.json",
        "customerServiceMessage.send",
        "miniprogrampage",
        "http",
    ),
    ("uniform.json", "uniformMessage.send", "send", "http"),
    ("uniform.cloud.json", "uniformMessage.send", "send", "cloud"),
    ("template.json", "templateMessage.send", "send", "http"),
];

#[test]
fn the_repository_examples_render_and_match_the_docs() {
    for &(file, api, name, form) in REPO_EXAMPLES {
        let path = repo().join("examples").join(file);
        let printed = json_of(
            &[
                "render",
                api,
                "--from",
                form,
                "--to",
                form,
                path.to_str().unwrap(),
            ],
            None,
        );
        assert_eq!(
            printed,
            read_json(&golden(api, name, form)),
            "examples/{file}"
        );
    }
}

#[test]
fn endpoints_lists_one_line_per_endpoint() {
    let r = run(&["endpoints"], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    for (name, path) in [
        (
            "customerServiceMessage.send",
            "/cgi-bin/message/custom/send",
        ),
        (
            "uniformMessage.send",
            "/cgi-bin/message/wxopen/template/uniform_send",
        ),
        (
            "templateMessage.send",
            "/cgi-bin/message/wxopen/template/send",
        ),
    ] {
        let line = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{}", r.stdout));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&words[1..3], ["POST", path], "{line}");
        let retired = name != "customerServiceMessage.send";
        assert_eq!(line.contains("deprecated"), retired, "{line}");
    }
    let template = lines
        .iter()
        .find(|l| l.starts_with("templateMessage.send"))
        .unwrap();
    assert!(template.contains("2020-01-10"), "{template}");
    assert!(template.contains("subscribeMessage.send"), "{template}");

    // The token endpoints are listed, marked: they take no access_token and
    // are no cloud call.
    for (name, method, path) in [
        ("auth.getAccessToken", "GET", "/cgi-bin/token"),
        ("auth.getStableAccessToken", "POST", "/cgi-bin/stable_token"),
    ] {
        let line = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{}", r.stdout));
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&words[1..3], [method, path], "{line}");
        assert!(
            line.contains("[token endpoint: no access_token, no cloud call]"),
            "{line}"
        );
    }

    let listed = json_of(&["endpoints", "--json"], None);
    assert_eq!(listed.as_array().unwrap().len(), lines.len());
    let stable = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "auth.getStableAccessToken")
        .unwrap();
    assert_eq!(stable["auth"], "none", "{stable}");
    assert_eq!(stable["cloud"], false, "{stable}");
}

#[test]
fn a_token_endpoint_is_not_sendable() {
    let r = run(
        &["render", "auth.getStableAccessToken", "-"],
        Some(r#"{"grant_type":"client_credential","appid":"a","secret":"s"}"#),
    );
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stderr.contains("auth.getStableAccessToken"),
        "{}",
        r.stderr
    );
}

#[test]
fn endpoints_json_has_name_method_path_and_errcodes() {
    let listed = json_of(&["endpoints", "--json"], None);
    let listed = listed.as_array().expect("a JSON array");
    for e in listed {
        for key in ["name", "method", "path", "errcodes"] {
            assert!(e.get(key).is_some(), "no `{key}` in {e}");
        }
        assert!(e["errcodes"].is_array(), "{e}");
    }
    let find = |name: &str| {
        listed
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("{name} is not listed"))
    };
    let cs = find("customerServiceMessage.send");
    assert_eq!(cs["method"], "POST");
    assert_eq!(cs["path"], "/cgi-bin/message/custom/send");
    let codes: Vec<i64> = cs["errcodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_i64().unwrap())
        .collect();
    for code in [-1, 40001, 40002, 40003, 45015, 45047, 48001] {
        assert!(
            codes.contains(&code),
            "customerServiceMessage.send lacks {code}"
        );
    }
    let limit = cs["errcodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == 45047)
        .unwrap();
    assert_eq!(limit["name"], "CustomerServiceLimitExceeded");
    assert_eq!(limit["class"], "permanent");
    let busy = cs["errcodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == -1)
        .unwrap();
    assert_eq!(busy["class"], "retry");
    assert_eq!(find("uniformMessage.send")["method"], "POST");
    assert_eq!(
        find("templateMessage.send")["path"],
        "/cgi-bin/message/wxopen/template/send"
    );
}

/// A bad input: what it is, the arguments, standard input, and the words
/// the one error line must contain (the field path first).
struct Bad {
    what: &'static str,
    args: &'static [&'static str],
    stdin: Value,
    expect: &'static [&'static str],
}

const CS: &str = "customerServiceMessage.send";

fn bad_inputs() -> Vec<Bad> {
    vec![
        Bad {
            what: "a string field given a number",
            args: &["render", CS],
            stdin: json!({"touser": 5, "msgtype": "text", "text": {"content": "x"}}),
            expect: &["touser: expected a string, found a number"],
        },
        Bad {
            what: "a nested string field given an array",
            args: &["render", CS],
            stdin: json!({"touser": "O", "msgtype": "text", "text": {"content": ["x"]}}),
            expect: &["text.content: expected a string, found an array"],
        },
        Bad {
            what: "a body that is not an object",
            args: &["render", CS],
            stdin: json!(["touser"]),
            expect: &["expected an object, found an array"],
        },
        Bad {
            what: "a missing top-level field",
            args: &["render", CS],
            stdin: json!({"msgtype": "text", "text": {"content": "x"}}),
            expect: &["touser: missing"],
        },
        Bad {
            what: "a missing payload field",
            args: &["render", CS],
            stdin: json!({"touser": "O", "msgtype": "link", "link": {"title": "t", "description": "d", "url": "u"}}),
            expect: &["link.thumb_url: missing"],
        },
        Bad {
            what: "a missing msgtype",
            args: &["render", CS],
            stdin: json!({"touser": "O", "text": {"content": "x"}}),
            expect: &["msgtype: missing"],
        },
        Bad {
            what: "an unknown top-level field",
            args: &["render", CS],
            stdin: json!({"touser": "O", "msgtype": "text", "text": {"content": "x"}, "priority": 1}),
            expect: &["priority: unknown field"],
        },
        Bad {
            what: "an unknown payload field",
            args: &["render", CS],
            stdin: json!({"touser": "O", "msgtype": "text", "text": {"content": "x", "contnet": "y"}}),
            expect: &["text.contnet: unknown field"],
        },
        Bad {
            what: "a msgtype without its payload",
            args: &["render", CS],
            stdin: json!({"touser": "O", "msgtype": "image"}),
            expect: &["image: missing", "msgtype is \"image\""],
        },
        Bad {
            what: "a msgtype with the payload of another",
            args: &["render", CS],
            stdin: json!({"touser": "O", "msgtype": "image", "text": {"content": "x"}}),
            expect: &["text: not allowed when msgtype is \"image\""],
        },
        Bad {
            what: "a second payload beside the right one",
            args: &["render", CS],
            stdin: json!({"touser": "O", "msgtype": "text", "text": {"content": "x"}, "image": {"media_id": "M"}}),
            expect: &["image: not allowed when msgtype is \"text\""],
        },
        Bad {
            what: "an unknown msgtype",
            args: &["render", CS],
            stdin: json!({"touser": "O", "msgtype": "video"}),
            expect: &[
                "msgtype: unknown value \"video\"",
                "text, image, link, miniprogrampage",
            ],
        },
        Bad {
            what: "an unknown msgtype with a payload under its name",
            args: &["render", CS],
            stdin: json!({"touser": "O", "msgtype": "video", "video": {"media_id": "M"}}),
            expect: &["msgtype: unknown value \"video\""],
        },
        Bad {
            what: "cloud names with --from http",
            args: &["render", CS, "--from", "http"],
            stdin: json!({"touser": "O", "msgtype": "link", "link": {"title": "t", "description": "d", "url": "u", "thumbUrl": "x"}}),
            expect: &["link.thumbUrl: unknown field", "thumb_url"],
        },
        Bad {
            what: "HTTP names with --from cloud",
            args: &["render", "templateMessage.send", "--from", "cloud"],
            stdin: json!({"touser": "O", "template_id": "T", "formId": "F"}),
            expect: &["template_id: unknown field", "templateId"],
        },
        Bad {
            what: "a template keyword that is not an object",
            args: &["render", "uniformMessage.send"],
            stdin: json!({
                "touser": "O",
                "mp_template_msg": {
                    "appid": "A", "template_id": "T", "url": "U",
                    "miniprogram": {"appid": "M", "pagepath": "P"},
                    "data": {"first": "Purchase succeeded!"}
                }
            }),
            expect: &["mp_template_msg.data.first: expected an object, found a string"],
        },
        Bad {
            what: "a template keyword without its value",
            args: &["render", "templateMessage.send"],
            stdin: json!({"touser": "O", "template_id": "T", "form_id": "F", "data": {"keyword1": {"color": "#173177"}}}),
            expect: &["data.keyword1.value: missing"],
        },
        Bad {
            what: "a subscribe keyword longer than its type allows",
            args: &["render", "subscribeMessage.send"],
            stdin: json!({"touser": "O", "template_id": "T", "data": {"thing1": {"value": "x".repeat(23)}}}),
            expect: &["data.thing1.value: longer than 20 characters (23)"],
        },
        Bad {
            what: "a subscribe keyword counted in Chinese characters, from the cloud form",
            args: &["render", "subscribeMessage.send", "--from", "cloud"],
            stdin: json!({"touser": "O", "templateId": "T", "data": {"name2": {"value": "张".repeat(11)}}}),
            expect: &["data.name2.value: longer than 10 characters with Chinese characters (11)"],
        },
        Bad {
            what: "a subscribe keyword that breaks its type's pattern",
            args: &["render", "subscribeMessage.send"],
            stdin: json!({"touser": "O", "template_id": "T", "data": {"number3": {"value": "twelve"}}}),
            expect: &["data.number3.value: must be digits"],
        },
        Bad {
            what: "an empty subscribe keyword",
            args: &["render", "subscribeMessage.send"],
            stdin: json!({"touser": "O", "template_id": "T", "data": {"short_thing4": {"value": ""}}}),
            expect: &["data.short_thing4.value: is empty"],
        },
    ]
}

#[test]
fn a_subscribe_keyword_of_an_unknown_type_renders_unchecked() {
    let body = json!({"touser": "O", "template_id": "T", "data": {"short_thing1": {"value": "x".repeat(40)}}});
    let out = json_of(
        &["render", "subscribeMessage.send"],
        Some(&body.to_string()),
    );
    assert_eq!(out, body);
}

#[track_caller]
fn assert_rejected(r: &Run, what: &str, expect: &[&str]) {
    assert_eq!(r.code, 2, "{what}: exit code (stderr: {})", r.stderr);
    assert_eq!(r.stdout, "", "{what}: standard output must stay empty");
    assert_eq!(
        r.stderr.trim_end().lines().count(),
        1,
        "{what}: one error line, got:\n{}",
        r.stderr
    );
    for needle in expect {
        assert!(
            r.stderr.contains(needle),
            "{what}: stderr lacks `{needle}`:\n{}",
            r.stderr
        );
    }
}

#[test]
fn bad_bodies_exit_2_naming_the_field_with_nothing_on_stdout() {
    for bad in bad_inputs() {
        let r = run(bad.args, Some(&bad.stdin.to_string()));
        assert_rejected(&r, bad.what, bad.expect);
    }
}

#[test]
fn the_same_bad_bodies_are_rejected_from_a_file() {
    let dir = std::env::temp_dir().join(format!("wechat-msg-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, bad) in bad_inputs().into_iter().enumerate() {
        let path = dir.join(format!("{i}.json"));
        std::fs::write(&path, bad.stdin.to_string()).unwrap();
        let mut args: Vec<&str> = bad.args.to_vec();
        args.push(path.to_str().unwrap());
        let r = run(&args, None);
        assert_rejected(&r, bad.what, bad.expect);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_json_exits_2() {
    for text in [r#"{"touser": "O", "msgtype": "text""#, "", "not json"] {
        let r = run(&["render", CS], Some(text));
        assert_rejected(&r, "bad JSON", &["invalid JSON"]);
    }
}

#[test]
fn an_unknown_api_exits_2_listing_the_known_ones() {
    let text = std::fs::read_to_string(golden(CS, "text", "http")).unwrap();
    let r = run(&["render", "customerServiceMessage.sned"], Some(&text));
    assert_rejected(
        &r,
        "unknown API",
        &["customerServiceMessage.sned", "customerServiceMessage.send"],
    );
}

#[test]
fn a_missing_file_exits_2() {
    let r = run(&["render", CS, "/nonexistent/wechat-msg/body.json"], None);
    assert_rejected(&r, "missing file", &["/nonexistent/wechat-msg/body.json"]);
}

#[test]
fn an_unknown_form_exits_2() {
    let r = run(&["render", CS, "--from", "xml"], Some("{}"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("xml"), "{}", r.stderr);
    assert!(r.stderr.contains("--from"), "{}", r.stderr);
}
