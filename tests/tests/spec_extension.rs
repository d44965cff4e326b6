//! Adding an endpoint takes a spec edit and nothing else.
//!
//! The test copies `api-spec/`, adds an endpoint the repository does not have
//! (`demo.textCheck`, a made-up text check shaped like WeChat's; the real
//! `security.msgSecCheck` is in the spec now) to the copy as a new
//! TOML file, and compiles and runs a program that generates its API from the
//! copy with `wechat_msg::api!` (naming the runtime through a re-export,
//! `crate = crate::deps::runtime`), starts the emulator on the generated
//! registry, and sends the new request with the client over HTTP and as a
//! cloud call. The program is ordinary user code: no Rust in the runtime, the
//! emulator or the client names the new endpoint.

use std::path::{Path, PathBuf};

const NEW_ENDPOINT: &str = r#"
# Added by the spec-extension test.

[[endpoint]]
name = "demo.textCheck"
method = "POST"
path = "/wxa/demo_text_check"
request = "DemoTextCheck"
answer = "DemoTextCheckAnswer"
doc = "Checks whether a text is safe to publish."

[[endpoint.errcode]]
code = 87014
rust = "RiskyContent"
class = "permanent"
description = "The content is risky."

[[type]]
name = "DemoTextCheck"
doc = "A text to check."

[[type.field]]
http = "content"
cloud = "content"
type = "string"
required = true
doc = "The text."

[[type.field]]
http = "version"
cloud = "version"
type = "integer"
required = true
doc = "The API version; 2."

[[type.field]]
http = "scene"
cloud = "scene"
type = "DemoScene"
required = true
doc = "Where the text will appear."

[[type.field]]
http = "openid"
cloud = "openid"
type = "string"
required = true
role = "openid"
doc = "The author's OpenID."

[[type.field]]
http = "title"
cloud = "title"
type = "string"
doc = "The text's title."

[[type]]
name = "DemoTextCheckAnswer"
doc = "The verdict."

[[type.field]]
http = "trace_id"
cloud = "traceId"
type = "string"
doc = "The check's trace id."

[[enum]]
name = "DemoScene"
doc = "Where a checked text appears."

[[enum.value]]
wire = "profile"
doc = "A profile."

[[enum.value]]
wire = "comment"
doc = "A comment."
"#;

const PROGRAM: &str = r#"
// The runtime through a re-export, as a crate that renames or re-exports
// its dependencies has it: `crate = ...` names it in the generated code.
mod deps {
    pub use wechat_msg as runtime;
}

mod api {
    wechat_msg::api!(crate = crate::deps::runtime, "SPEC_DIR");
}

use api::{DemoScene, DemoTextCheck, DemoTextCheckErrcode};
use wechat_msg::{Client, Via};
use wechat_msg::client::{CloudFunction, ErrorKind, TokenSource};
use wechat_msg::Endpoint;
use wechat_msg_emulator::{Config, Emulator};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The generated registry holds the new endpoint beside the old ones.
    assert!(api::ENDPOINTS.iter().any(|e| e.name == "customerServiceMessage.send"));
    let info = <DemoTextCheck as Endpoint>::INFO;
    assert_eq!((info.name, info.path), ("demo.textCheck", "/wxa/demo_text_check"));

    let emulator = Emulator::start_with(Config::default(), api::ENDPOINTS).await.expect("emulator");
    let app = emulator.app().clone();
    for via in [Via::Http, Via::Cloud(CloudFunction::new("env", "relay"))] {
        let client = Client::builder()
            .base_url(emulator.base_url())
            .token_source(TokenSource::stable(app.appid.clone(), app.secret.clone()))
            .via(via)
            .build()
            .expect("client");
        let request = DemoTextCheck::builder()
            .content("hello")
            .version(2)
            .scene(DemoScene::Comment)
            .openid("OPENID")
            .build();
        client.send(&request).await.expect("the emulator serves the new endpoint");

        // Its role checks apply too: an unknown openid is 40003, typed.
        let stranger = DemoTextCheck::builder()
            .content("hello")
            .version(2)
            .scene(DemoScene::Profile)
            .openid("NOBODY")
            .build();
        let err = client.send(&stranger).await.expect_err("unknown openid");
        match err.kind() {
            ErrorKind::Rejected(r) => {
                assert_eq!(r.errcode, DemoTextCheckErrcode::InvalidOpenid);
                assert_eq!(r.errcode.code(), 40003);
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    let accepted: Vec<_> = emulator
        .messages()
        .into_iter()
        .filter(|m| m.endpoint == "demo.textCheck")
        .collect();
    assert_eq!(accepted.len(), 2, "one accepted call per transport");
    assert_eq!(accepted[0].body["scene"], "comment");
    emulator.shutdown().await;
}
"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|x| x == "toml") {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn an_endpoint_added_to_a_copy_of_the_spec_compiles_and_is_served() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("spec-extension");
    let _ = std::fs::remove_dir_all(&work);
    let spec = work.join("api-spec");
    copy_dir(&repo.join("api-spec"), &spec);
    std::fs::write(spec.join("demo.toml"), NEW_ENDPOINT).unwrap();

    // The copy with the new endpoint is a valid spec ...
    let model = wechat_msg_codegen::load(&spec).expect("the extended spec is valid");
    assert!(model.endpoints.iter().any(|e| e.name == "demo.textCheck"));

    // ... and a program generated from it compiles and serves it.
    let program = work.join("extended_spec.rs");
    std::fs::write(
        &program,
        PROGRAM.replace("SPEC_DIR", spec.to_str().unwrap()),
    )
    .unwrap();
    trybuild::TestCases::new().pass(&program);
}

/// The content checks, the quota and rid diagnostics and the media-check
/// push came from spec files alone. The test takes a copy of `api-spec/`
/// without them (no `security.toml`, no `openApi.toml`, no
/// `wxa_media_check` in `push.toml`), checks that the copy is a valid spec
/// that lacks them, adds the repository's files back, and compiles and runs
/// a program that generates its API from the copy: each new endpoint is
/// sent with the client to the emulator started on the generated registry
/// (over HTTPS, and as a cloud call where WeChat has one), a refused call's
/// rid is looked up, and the generated `Push` reads the media-check push.
/// Nothing in the runtime or the client names them: the emulator's answers
/// are its behaviour, the types and registry the generator's output.
const DIAGNOSTICS_PROGRAM: &str = r##"
mod deps {
    pub use wechat_msg as runtime;
}

mod api {
    wechat_msg::api!(crate = crate::deps::runtime, "SPEC_DIR");
}

use api::{ApiQuotaQuery, ClearQuota, CustomerServiceMessage, MediaCheckAsync, MsgSecCheck, Push, RidQuery, SecCheckSuggest};
use wechat_msg::Wire as _;
use wechat_msg::{Client, Via};
use wechat_msg::client::{CloudFunction, ErrorKind, TokenSource};
use wechat_msg::push::PushMessage;
use wechat_msg_emulator::{Config, Emulator};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    for name in ["security.msgSecCheck", "security.mediaCheckAsync", "openApi.getApiQuota", "openApi.clearQuota", "openApi.getRidInfo"] {
        assert!(api::ENDPOINTS.iter().any(|e| e.name == name), "{name}");
    }
    assert!(api::AUTH_ENDPOINTS.iter().any(|e| e.name == "openApi.clearQuotaByAppSecret"));

    let emulator = Emulator::start_with(Config::default(), api::ENDPOINTS).await.expect("emulator");
    let app = emulator.app().clone();
    for via in [Via::Http, Via::Cloud(CloudFunction::new("env", "relay"))] {
        let client = Client::builder()
            .base_url(emulator.base_url())
            .token_source(TokenSource::stable(app.appid.clone(), app.secret.clone()))
            .via(via)
            .build()
            .expect("client");
        let check = |content: &str| MsgSecCheck::builder().content(content).version(2).scene(2).openid("OPENID").build();
        let pass = client.send(&check("hello")).await.expect("a text check");
        assert_eq!(pass.result.suggest, SecCheckSuggest::Pass);
        let risky = client.send(&check("来赌博吧")).await.expect("a risky text is not an error");
        assert_eq!((risky.result.suggest, risky.result.label), (SecCheckSuggest::Risky, 20006));
        let media = MediaCheckAsync::builder()
            .media_url("http://127.0.0.1:9/picture.png")
            .media_type(2)
            .version(2)
            .scene(1)
            .openid("OPENID")
            .build();
        assert!(!client.send(&media).await.expect("a media check").trace_id.is_empty());

        // HTTPS-only endpoints go over HTTPS from either client.
        let quota = client
            .send(&ApiQuotaQuery::builder().cgi_path("/cgi-bin/message/custom/send").build())
            .await
            .expect("a quota");
        assert_eq!(quota.quota.daily_limit, 1_000_000);
        client.send(&ClearQuota::builder().appid(app.appid.clone()).build()).await.expect("a clear");

        // A refused call's rid tells what was sent.
        let stranger = CustomerServiceMessage::from_json(
            r#"{"touser":"NOBODY","msgtype":"text","text":{"content":"hi"}}"#,
            wechat_msg::Form::Http,
        )
        .unwrap();
        let err = client.send(&stranger).await.expect_err("unknown openid");
        let rid = match err.kind() {
            ErrorKind::Rejected(r) => r.rid.clone().expect("a rid"),
            other => panic!("expected a rejection, got {other:?}"),
        };
        let info = client.send(&RidQuery::builder().rid(rid).build()).await.expect("the rid's record");
        assert!(info.request.request_body.contains("NOBODY"));
        assert!(info.request.response_body.contains("40003"));
    }

    let push = r#"{"ToUserName":"gh_1","FromUserName":"OPENID","CreateTime":1,"MsgType":"event","Event":"wxa_media_check","trace_id":"T","errcode":-1008,"errmsg":"media download failed"}"#;
    let map = wechat_msg::push::body::read(push.as_bytes(), wechat_msg::push::body::Encoding::Json, Push::XML_WRAPPERS).unwrap();
    let push = Push::from_push_form(map).unwrap();
    assert!(matches!(&push, Push::MediaCheck(e) if e.errcode == -1008));
    assert_eq!(push.dedupe_key().as_deref(), Some("trace_id:T"));
    emulator.shutdown().await;
}
"##;

#[test]
fn the_content_checks_and_diagnostics_come_from_the_spec_alone() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let real = repo.join("api-spec");
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("spec-extension-diagnostics");
    let _ = std::fs::remove_dir_all(&work);
    let spec = work.join("api-spec");
    copy_dir(&real, &spec);

    // The copy without the new files and push is a valid spec without them.
    std::fs::remove_file(spec.join("security.toml")).unwrap();
    std::fs::remove_file(spec.join("openApi.toml")).unwrap();
    let push = std::fs::read_to_string(real.join("push.toml")).unwrap();
    let at = push
        .find("[[push]]\nname = \"MediaCheckEvent\"")
        .expect("the media-check push is in push.toml");
    std::fs::write(spec.join("push.toml"), &push[..at]).unwrap();
    let base = wechat_msg_codegen::load(&spec).expect("the spec without them is valid");
    assert!(
        !base
            .endpoints
            .iter()
            .any(|e| e.name.starts_with("security.") || e.name.starts_with("openApi."))
    );
    assert!(
        !base
            .push
            .messages
            .iter()
            .any(|m| m.name == "MediaCheckEvent")
    );

    // The spec files put back make them.
    for file in ["security.toml", "openApi.toml", "push.toml"] {
        std::fs::copy(real.join(file), spec.join(file)).unwrap();
    }
    let model = wechat_msg_codegen::load(&spec).expect("the extended spec is valid");
    assert_eq!(
        model.endpoints.len(),
        base.endpoints.len() + 6,
        "two checks and four diagnostics"
    );
    let program = work.join("diagnostics_spec.rs");
    std::fs::write(
        &program,
        DIAGNOSTICS_PROGRAM.replace("SPEC_DIR", spec.to_str().unwrap()),
    )
    .unwrap();
    trybuild::TestCases::new().pass(&program);
}
