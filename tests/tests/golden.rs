//! Golden wire tests: every request and answer example of the api-docs, in
//! both forms, against the generated parsers and writers. Bodies are always
//! compared as parsed JSON.
//!
//! Fixtures live in `tests/golden/<api>/<example>.<form>.json`; the cloud
//! ones are the docs' JS object literals transcribed to JSON as written,
//! including the texts in which they differ from the HTTP examples.

// templateMessage.send and uniformMessage.send are retired, and their
// request types say so; the docs' examples still have to round-trip.
#![allow(deprecated)]

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wechat_msg::meta::read_answer;
use wechat_msg::{
    Ack, CustomerServiceMessage, CustomerServiceMessageSendErrcode, Endpoint, Form, Rejection,
    TemplateMessage, TemplateMessageSendErrcode, UniformMessage, UniformMessageSendErrcode, Wire,
};
use wechat_msg_tests::sdk;

/// Every request example of the docs: the endpoint and the example's name.
const EXAMPLES: &[(&str, &str)] = &[
    ("customerServiceMessage.send", "text"),
    ("customerServiceMessage.send", "image"),
    ("customerServiceMessage.send", "link"),
    ("customerServiceMessage.send", "miniprogrampage"),
    ("uniformMessage.send", "send"),
    ("templateMessage.send", "send"),
];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

fn fixture_path(api: &str, name: &str, form: Form) -> PathBuf {
    golden_dir().join(api).join(format!("{name}.{form}.json"))
}

fn fixture_text(api: &str, name: &str, form: Form) -> String {
    let path = fixture_path(api, name, form);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture(api: &str, name: &str, form: Form) -> Value {
    serde_json::from_str(&fixture_text(api, name, form))
        .unwrap_or_else(|e| panic!("{api}/{name}.{form}.json: {e}"))
}

/// Runs `check::<T>` with the request type of `api`.
fn with_type(api: &str, name: &str, check: &dyn Fn(&str, &str, &dyn TypedCheck)) {
    match api {
        "customerServiceMessage.send" => check(api, name, &Typed::<CustomerServiceMessage>::NEW),
        "uniformMessage.send" => check(api, name, &Typed::<UniformMessage>::NEW),
        "templateMessage.send" => check(api, name, &Typed::<TemplateMessage>::NEW),
        other => panic!("no request type for {other}"),
    }
}

/// The checks that need the request type, behind a trait object so one table
/// of examples drives all of them.
trait TypedCheck {
    /// Parses `text` in `form` and writes it back in `to`.
    fn reprint(&self, text: &str, from: Form, to: Form) -> Value;
    /// Parses both and asserts the messages are equal.
    fn same_message(&self, http: &Value, cloud: &Value);
    /// The registry's name of the request type.
    fn endpoint_name(&self) -> &'static str;
}

struct Typed<T>(std::marker::PhantomData<T>);

impl<T> Typed<T> {
    const NEW: Self = Typed(std::marker::PhantomData);
}

impl<T: Wire + Endpoint + PartialEq + Debug> TypedCheck for Typed<T> {
    fn reprint(&self, text: &str, from: Form, to: Form) -> Value {
        T::from_json(text, from)
            .unwrap_or_else(|e| panic!("{} ({from}): {e}", T::INFO.name))
            .to_value(to)
    }

    fn same_message(&self, http: &Value, cloud: &Value) {
        let from_http = T::from_value(http, Form::Http).unwrap();
        let from_cloud = T::from_value(cloud, Form::Cloud).unwrap();
        assert_eq!(from_http, from_cloud, "{}", T::INFO.name);
    }

    fn endpoint_name(&self) -> &'static str {
        T::INFO.name
    }
}

#[test]
fn every_example_parses_and_prints_back_equal() {
    for &(api, name) in EXAMPLES {
        with_type(api, name, &|api, name, t| {
            assert_eq!(t.endpoint_name(), api);
            for form in Form::ALL {
                let printed = t.reprint(&fixture_text(api, name, form), form, form);
                assert_eq!(
                    printed,
                    fixture(api, name, form),
                    "{api}/{name}.{form}.json does not print back equal"
                );
            }
        });
    }
}

#[test]
fn http_to_cloud_to_http_is_lossless() {
    for &(api, name) in EXAMPLES {
        with_type(api, name, &|api, name, t| {
            for (from, via) in [(Form::Http, Form::Cloud), (Form::Cloud, Form::Http)] {
                let original = fixture(api, name, from);
                let there = t.reprint(&fixture_text(api, name, from), from, via);
                let back = t.reprint(&there.to_string(), via, from);
                assert_eq!(back, original, "{api}/{name}: {from} -> {via} -> {from}");
            }
        });
    }
}

/// The registry's `convert` is what `wechat-msg render` runs; the CLI's own
/// tests run the binary on the same fixtures.
fn render(api: &str, body: &Value, from: Form, to: Form) -> Value {
    let endpoint =
        wechat_msg::meta::endpoint(api).unwrap_or_else(|| panic!("{api} is not registered"));
    (endpoint.convert)(body, from, to).unwrap_or_else(|e| panic!("{api} ({from}): {e}"))
}

#[test]
fn sdk_rule_on_each_cloud_example_equals_render_from_cloud_to_http() {
    for &(api, name) in EXAMPLES {
        let cloud = fixture(api, name, Form::Cloud);
        assert_eq!(
            render(api, &cloud, Form::Cloud, Form::Http),
            sdk::cloud_to_http(&cloud),
            "{api}/{name}: the SDK would send something else"
        );
    }
}

#[test]
fn sdk_rule_on_each_rendered_cloud_form_gives_back_the_http_example() {
    for &(api, name) in EXAMPLES {
        let http = fixture(api, name, Form::Http);
        let cloud = render(api, &http, Form::Http, Form::Cloud);
        assert_eq!(sdk::cloud_to_http(&cloud), http, "{api}/{name}");
    }
}

#[test]
fn http_and_cloud_examples_are_the_same_message_except_where_the_docs_differ() {
    for &(api, name) in EXAMPLES {
        if api == "uniformMessage.send" {
            continue;
        }
        with_type(api, name, &|api, name, t| {
            t.same_message(
                &fixture(api, name, Form::Http),
                &fixture(api, name, Form::Cloud),
            );
        });
    }
    // The docs' two uniform examples differ in two texts of the Official
    // Account message, and in nothing else.
    let http = UniformMessage::from_value(
        &fixture("uniformMessage.send", "send", Form::Http),
        Form::Http,
    )
    .unwrap();
    let mut cloud = UniformMessage::from_value(
        &fixture("uniformMessage.send", "send", Form::Cloud),
        Form::Cloud,
    )
    .unwrap();
    assert_ne!(http, cloud);
    let data = &mut cloud.mp_template_msg.data;
    assert_eq!(data["first"].value, "Purchase successful!");
    assert_eq!(data["remark"].value, "Come back to shop again soon!");
    data.get_mut("first").unwrap().value = "Purchase succeeded!".into();
    data.get_mut("remark").unwrap().value = "Welcome to purchase more!".into();
    assert_eq!(http, cloud);
}

#[test]
fn every_fixture_file_of_the_documented_endpoints_is_in_the_table() {
    let mut listed: BTreeSet<PathBuf> = EXAMPLES
        .iter()
        .flat_map(|&(api, name)| Form::ALL.map(|form| fixture_path(api, name, form)))
        .collect();
    for api in ["uniformMessage.send", "templateMessage.send"] {
        for form in Form::ALL {
            listed.insert(
                golden_dir()
                    .join(api)
                    .join(format!("answers/ok.{form}.json")),
            );
        }
    }
    // Other endpoints' fixtures (golden_successors.rs) are not the docs'.
    let mut found = BTreeSet::new();
    let mut stack: Vec<PathBuf> = [
        "customerServiceMessage.send",
        "uniformMessage.send",
        "templateMessage.send",
    ]
    .map(|api| golden_dir().join(api))
    .into();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.insert(path);
            }
        }
    }
    assert_eq!(found, listed);
}

#[test]
fn the_examples_text_and_data_keys_are_untouched() {
    // Spot checks that would catch a key or value rewritten on the way.
    let template = render(
        "templateMessage.send",
        &fixture("templateMessage.send", "send", Form::Cloud),
        Form::Cloud,
        Form::Http,
    );
    assert_eq!(template["template_id"], "TEMPLATE_ID");
    assert_eq!(template["emphasis_keyword"], "keyword1.DATA");
    assert_eq!(
        template["data"]["keyword4"],
        json!({"value": "No. 397, Xingang Zhonglu, Haizhu District, Guangzhou"})
    );
    let page = render(
        "customerServiceMessage.send",
        &fixture("customerServiceMessage.send", "miniprogrampage", Form::Http),
        Form::Http,
        Form::Cloud,
    );
    assert_eq!(
        page,
        json!({
            "touser": "OPENID",
            "msgtype": "miniprogrampage",
            "miniprogrampage": {"title": "title", "pagepath": "pagepath", "thumbMediaId": "thumb_media_id"}
        })
    );
}

// ---- answers ----

type Answer<E> =
    Result<Result<Ack, Rejection<<E as Endpoint>::Errcode>>, wechat_msg::MalformedAnswer>;

fn answer<E: Endpoint<Answer = Ack>>(body: &Value, form: Form) -> Answer<E> {
    read_answer::<E>(body.to_string().as_bytes(), form)
}

fn rejection<E: Endpoint<Answer = Ack>>(body: Value, form: Form) -> Rejection<E::Errcode> {
    match answer::<E>(&body, form) {
        Ok(Err(rejection)) => rejection,
        other => panic!("{body} ({form}) should be a rejection, is {other:?}"),
    }
}

#[test]
fn the_docs_success_answers_are_ok_in_both_forms() {
    for api in ["uniformMessage.send", "templateMessage.send"] {
        for form in Form::ALL {
            let body = fixture(api, "answers/ok", form);
            let ok = match api {
                "uniformMessage.send" => answer::<UniformMessage>(&body, form).map(|r| r.is_ok()),
                _ => answer::<TemplateMessage>(&body, form).map(|r| r.is_ok()),
            };
            assert_eq!(ok, Ok(true), "{api} answers/ok.{form}.json");
        }
    }
}

#[test]
fn an_endpoint_errcode_parses_into_its_variant() {
    let r = rejection::<CustomerServiceMessage>(
        json!({"errcode": 45047, "errmsg": "out of response count limit rid: 6527c1f2-0b3a4c5d-6e7f8a9b"}),
        Form::Http,
    );
    assert_eq!(
        r.errcode,
        CustomerServiceMessageSendErrcode::CustomerServiceLimitExceeded
    );
    assert_eq!(r.errcode.code(), 45047);
    assert!(!r.errcode.is_retryable());
    assert!(!r.errcode.invalidates_token());
    assert_eq!(
        r.errmsg,
        "out of response count limit rid: 6527c1f2-0b3a4c5d-6e7f8a9b"
    );
    assert_eq!(r.rid.as_deref(), Some("6527c1f2-0b3a4c5d-6e7f8a9b"));

    let r = rejection::<CustomerServiceMessage>(
        json!({"errCode": 45047, "errMsg": "openapi.customerServiceMessage.send:fail response out of time limit or subscription is canceled"}),
        Form::Cloud,
    );
    assert_eq!(
        r.errcode,
        CustomerServiceMessageSendErrcode::CustomerServiceLimitExceeded
    );
}

#[test]
fn a_shared_errcode_parses_into_its_variant_in_both_forms() {
    let r = rejection::<CustomerServiceMessage>(
        json!({"errCode": -1, "errMsg": "openapi.customerServiceMessage.send:fail system error"}),
        Form::Cloud,
    );
    assert_eq!(r.errcode, CustomerServiceMessageSendErrcode::SystemBusy);
    assert!(r.errcode.is_retryable());
    assert_eq!(
        r.errmsg,
        "openapi.customerServiceMessage.send:fail system error"
    );
    let r = rejection::<CustomerServiceMessage>(
        json!({"errcode": -1, "errmsg": "system error"}),
        Form::Http,
    );
    assert_eq!(r.errcode, CustomerServiceMessageSendErrcode::SystemBusy);

    for (form, body) in [
        (
            Form::Http,
            json!({"errcode": 40001, "errmsg": "invalid credential"}),
        ),
        (
            Form::Cloud,
            json!({"errCode": 40001, "errMsg": "invalid credential"}),
        ),
    ] {
        let r = rejection::<UniformMessage>(body, form);
        assert_eq!(r.errcode, UniformMessageSendErrcode::InvalidCredential);
        assert!(r.errcode.invalidates_token());
        assert!(!r.errcode.is_retryable());
    }
    for code in [40014, 42001] {
        let r = rejection::<TemplateMessage>(json!({"errcode": code, "errmsg": "x"}), Form::Http);
        assert!(r.errcode.invalidates_token(), "{code}");
    }
}

#[test]
fn an_unknown_errcode_is_kept_with_its_errmsg() {
    for (form, body) in [
        (
            Form::Http,
            json!({"errcode": 61451, "errmsg": "invalid parameter"}),
        ),
        (
            Form::Cloud,
            json!({"errCode": 61451, "errMsg": "invalid parameter"}),
        ),
    ] {
        let r = rejection::<CustomerServiceMessage>(body, form);
        assert_eq!(
            r.errcode,
            CustomerServiceMessageSendErrcode::Unknown {
                code: 61451,
                errmsg: "invalid parameter".into()
            }
        );
        assert_eq!(r.errcode.code(), 61451);
        assert_eq!(r.errcode.description(), "");
        assert!(!r.errcode.is_retryable());
        assert!(!r.errcode.invalidates_token());
    }
}

#[test]
fn an_absent_or_zero_errcode_is_success() {
    for (form, body) in [
        (Form::Http, json!({"errmsg": "ok"})),
        (Form::Http, json!({})),
        (Form::Http, json!({"errcode": 0, "errmsg": "ok"})),
        (
            Form::Cloud,
            json!({"errMsg": "openapi.customerServiceMessage.send:ok"}),
        ),
        (
            Form::Cloud,
            json!({"errCode": 0, "errMsg": "openapi.customerServiceMessage.send:ok"}),
        ),
    ] {
        assert_eq!(
            answer::<CustomerServiceMessage>(&body, form),
            Ok(Ok(Ack::default())),
            "{body} ({form})"
        );
    }
}

#[test]
fn an_endpoint_refines_the_description_of_a_shared_code() {
    let r = rejection::<UniformMessage>(json!({"errcode": 40003, "errmsg": "x"}), Form::Http);
    assert_eq!(r.errcode, UniformMessageSendErrcode::InvalidOpenid);
    assert_eq!(
        r.errcode.description(),
        "The openid of touser is incorrect."
    );
    let r = rejection::<TemplateMessage>(json!({"errcode": 41029, "errmsg": "x"}), Form::Http);
    assert_eq!(r.errcode, TemplateMessageSendErrcode::FormIdUsed);
    assert_eq!(r.errcode.description(), "form_id is already in use.");
}

#[test]
fn each_endpoint_knows_every_code_its_docs_list() {
    let docs: [(&str, &[i64]); 3] = [
        (
            "customerServiceMessage.send",
            &[-1, 40001, 40002, 40003, 45015, 45047, 48001],
        ),
        (
            "uniformMessage.send",
            &[40037, 41028, 41029, 41030, 45009, 40003, 40013],
        ),
        ("templateMessage.send", &[40037, 41028, 41029, 41030, 45009]),
    ];
    for (api, codes) in docs {
        let info = wechat_msg::meta::endpoint(api).unwrap();
        for &code in codes {
            assert!(info.errcode(code).is_some(), "{api} does not know {code}");
        }
        // The FACTS' common codes are in every table.
        for code in [-1, 40001, 40014, 41001, 42001, 44002, 45009, 47001, 48001] {
            assert!(info.errcode(code).is_some(), "{api} does not know {code}");
        }
    }
}
