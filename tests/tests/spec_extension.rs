//! Adding an endpoint takes a spec edit and nothing else.
//!
//! The test copies `api-spec/`, adds an endpoint the repository does not have
//! (`security.msgSecCheck`, WeChat's text content check) to the copy as a new
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
name = "security.msgSecCheck"
method = "POST"
path = "/wxa/msg_sec_check"
request = "MsgSecCheck"
answer = "MsgSecCheckAnswer"
doc = "Checks whether a text is safe to publish."

[[endpoint.errcode]]
code = 87014
rust = "RiskyContent"
class = "permanent"
description = "The content is risky."

[[type]]
name = "MsgSecCheck"
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
type = "CheckScene"
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
name = "MsgSecCheckAnswer"
doc = "The verdict."

[[type.field]]
http = "trace_id"
cloud = "traceId"
type = "string"
doc = "The check's trace id."

[[enum]]
name = "CheckScene"
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

use api::{CheckScene, MsgSecCheck, SecurityMsgSecCheckErrcode};
use wechat_msg::client::{Client, CloudFunction, ErrorKind, TokenSource, Via};
use wechat_msg::Endpoint;
use wechat_msg_emulator::{Config, Emulator};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The generated registry holds the new endpoint beside the old ones.
    assert!(api::ENDPOINTS.iter().any(|e| e.name == "customerServiceMessage.send"));
    let info = <MsgSecCheck as Endpoint>::INFO;
    assert_eq!((info.name, info.path), ("security.msgSecCheck", "/wxa/msg_sec_check"));

    let emulator = Emulator::start_with(Config::default(), api::ENDPOINTS).await.expect("emulator");
    let app = emulator.app().clone();
    for via in [Via::Http, Via::Cloud(CloudFunction::new("env", "relay"))] {
        let client = Client::builder()
            .base_url(emulator.base_url())
            .token_source(TokenSource::stable(app.appid.clone(), app.secret.clone()))
            .via(via)
            .build()
            .expect("client");
        let request = MsgSecCheck::builder()
            .content("hello")
            .version(2)
            .scene(CheckScene::Comment)
            .openid("OPENID")
            .build();
        client.send(&request).await.expect("the emulator serves the new endpoint");

        // Its role checks apply too: an unknown openid is 40003, typed.
        let stranger = MsgSecCheck::builder()
            .content("hello")
            .version(2)
            .scene(CheckScene::Profile)
            .openid("NOBODY")
            .build();
        let err = client.send(&stranger).await.expect_err("unknown openid");
        match err.kind() {
            ErrorKind::Rejected(r) => {
                assert_eq!(r.errcode, SecurityMsgSecCheckErrcode::InvalidOpenid);
                assert_eq!(r.errcode.code(), 40003);
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    let accepted: Vec<_> = emulator
        .messages()
        .into_iter()
        .filter(|m| m.endpoint == "security.msgSecCheck")
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
    std::fs::write(spec.join("security.toml"), NEW_ENDPOINT).unwrap();

    // The copy with the new endpoint is a valid spec ...
    let model = wechat_msg_codegen::load(&spec).expect("the extended spec is valid");
    assert!(
        model
            .endpoints
            .iter()
            .any(|e| e.name == "security.msgSecCheck")
    );

    // ... and a program generated from it compiles and serves it.
    let program = work.join("extended_spec.rs");
    std::fs::write(
        &program,
        PROGRAM.replace("SPEC_DIR", spec.to_str().unwrap()),
    )
    .unwrap();
    trybuild::TestCases::new().pass(&program);
}
