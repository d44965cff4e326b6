//! The baseline of the serialize benchmark: the layout a hand-written
//! client would use for the HTTP bodies of the documented endpoints, with
//! `#[derive(Serialize)]`. The msgtype union is spelled out as one optional
//! field per msgtype, so no `#[serde(tag)]` machinery is involved.
//!
//! Shared by `benches/serialize.rs`, `benches/parse.rs` and
//! `examples/serialize_icount.rs` (instruction counts); each uses a part.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct CustomerServiceMessage {
    pub touser: String,
    pub msgtype: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<Text>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogrampage: Option<MiniProgramPage>,
}

#[derive(Serialize, Deserialize)]
pub struct Text {
    pub content: String,
}

#[derive(Serialize, Deserialize)]
pub struct Image {
    pub media_id: String,
}

#[derive(Serialize, Deserialize)]
pub struct Link {
    pub title: String,
    pub description: String,
    pub url: String,
    pub thumb_url: String,
}

#[derive(Serialize, Deserialize)]
pub struct MiniProgramPage {
    pub title: String,
    pub pagepath: String,
    pub thumb_media_id: String,
}

#[derive(Serialize, Deserialize)]
pub struct TemplateKeyword {
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct TemplateMessage {
    pub touser: String,
    pub template_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    pub form_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, TemplateKeyword>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emphasis_keyword: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct UniformMessage {
    pub touser: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weapp_template_msg: Option<WeappTemplateMessage>,
    pub mp_template_msg: MpTemplateMessage,
}

#[derive(Serialize, Deserialize)]
pub struct WeappTemplateMessage {
    pub template_id: String,
    pub page: String,
    pub form_id: String,
    pub data: BTreeMap<String, TemplateKeyword>,
    pub emphasis_keyword: String,
}

#[derive(Serialize, Deserialize)]
pub struct MpTemplateMessage {
    pub appid: String,
    pub template_id: String,
    pub url: String,
    pub miniprogram: MiniProgramTarget,
    pub data: BTreeMap<String, TemplateKeyword>,
}

#[derive(Serialize, Deserialize)]
pub struct MiniProgramTarget {
    pub appid: String,
    pub pagepath: String,
}

/// The subscribe message the parse benchmarks read: five keywords of five
/// declared types, so that the generated reader runs five keyword checks.
pub const SUBSCRIBE_FIVE_KEYWORDS: &str = r#"{"touser":"OPENID","template_id":"TEMPLATE_ID","page":"index?foo=bar","data":{"thing1":{"value":"Order shipped"},"number2":{"value":"339208499"},"date3":{"value":"2015-01-05"},"phrase4":{"value":"已发货"},"character_string5":{"value":"SF1234567890"}},"miniprogram_state":"developer","lang":"zh_CN"}"#;

#[derive(Serialize, Deserialize)]
pub struct SubscribeMessage {
    pub touser: String,
    pub template_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    pub data: BTreeMap<String, SubscribeKeyword>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miniprogram_state: Option<MiniprogramState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
}

#[derive(Serialize, Deserialize)]
pub struct SubscribeKeyword {
    pub value: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MiniprogramState {
    Developer,
    Trial,
    Formal,
}

#[derive(Serialize, Deserialize)]
pub enum Lang {
    #[serde(rename = "zh_CN")]
    ZhCn,
    #[serde(rename = "en_US")]
    EnUs,
    #[serde(rename = "zh_HK")]
    ZhHk,
    #[serde(rename = "zh_TW")]
    ZhTw,
}

/// The keyword checks the generated reader makes as it parses (each
/// template keyword's value against its type's rule, through the same
/// public `wechat_msg::keyword::check`), for a baseline that makes them
/// too: `serde_derive_checked` in the parse benchmarks.
pub trait KeywordChecks {
    /// Whether every keyword value fits its type; `true` for a message
    /// without template keywords.
    fn keywords_fit(&self) -> bool {
        true
    }
}

impl KeywordChecks for CustomerServiceMessage {}

impl KeywordChecks for SubscribeMessage {
    fn keywords_fit(&self) -> bool {
        self.data
            .iter()
            .all(|(key, keyword)| wechat_msg::keyword::check(key, &keyword.value).is_ok())
    }
}

/// A reqwest client set up as `wechat_msg::Client::builder()` sets up its
/// own (its default connect and request timeouts, pool idle timeout, no
/// redirects, reqwest's retry layer off): the send benchmarks' raw side
/// with the client's settings, so that what differs is `send`'s work.
pub fn reqwest_with_the_clients_settings() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .pool_idle_timeout(std::time::Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .build()
        .expect("a reqwest client")
}
