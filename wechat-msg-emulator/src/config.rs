//! What the emulator knows and how strict it is: from a TOML file or built in Rust.
//!
//! Every field has a default, so an empty file is a valid configuration and
//! the default configuration makes the examples of WeChat's documentation
//! succeed as written.
//!
//! ```toml
//! listen = "127.0.0.1:0"
//! header_read_timeout_secs = 10  # a request head must arrive within this
//! body_read_timeout_secs = 30    # a request body must arrive within this
//! shutdown_grace_secs = 5        # open requests get this long at shutdown
//!
//! [app]
//! appid = "wx5e1c0a7d3f2b4c68"
//! secret = "0d1b2c3e4f5a69788796a5f4e3d2c1b0"
//!
//! [tokens]
//! lifetime_secs = 7200    # expires_in of every token
//! grace_secs = 300        # an old classic token keeps working this long
//!
//! [known]
//! openids = ["OPENID"]
//! template_ids = ["TEMPLATE_ID"]
//! form_ids = ["FORMID"]
//! form_id_lifetime_secs = 604800
//! activity_ids = ["ACTIVITY_ID"]   # updatable messages' activity ids
//! media_lifetime_secs = 259200
//!
//! [[known.media]]
//! id = "MEDIA_ID"
//! content_type = "image/png"
//! # base64 = "..."        # the bytes; a 1x1 PNG when absent
//!
//! [templates]             # the account's subscribe templates (see below)
//! max_private = 25        # addTemplate answers 200012 past this many
//!
//! [[templates.private]]   # replaces the built-in TEMPLATE_ID when given
//! id = "TEMPLATE_ID"
//! title = "会议提醒"
//! content = "会议名称:{{thing1.DATA}}\n会议时间:{{time2.DATA}}"
//! example = "会议名称:周会\n会议时间:15:01"
//! type = 3                # 2 one-time, 3 long-term
//! enums = { phrase5 = ["待开始", "已结束"] }   # keywordEnumValueList
//!
//! [[templates.categories]]   # replace the built-in library when given
//! id = 616
//! name = "餐饮"
//!
//! [[templates.library]]
//! tid = 99
//! title = "付款成功通知"
//! type = 2
//! category_id = 616
//! keywords = [{ kid = 1, name = "金额", example = "￥100", rule = "amount" }]
//!
//! [quotas]
//! daily = 1000000         # per endpoint, unless the endpoint says otherwise
//!
//! [quotas.endpoints."customerServiceMessage.send"]
//! per_user = 100          # optional: 45047 past this many messages to one user a day
//!
//! [conversation]          # the reply window, as WeChat runs it
//! message_window_secs = 172800   # a user's message opens 48 h ...
//! message_window_count = 5       # ... for 5 replies (45015 closed, 45047 used up)
//! enter_window_secs = 60         # entering the conversation opens 1 minute ...
//! enter_window_count = 2         # ... for 2 replies
//! typing_interaction_secs = 30   # typing needs an interaction this recent (45080)
//! typing_secs = 15               # typing lasts this long (45081 while on)
//! open = ["OPENID"]              # users whose window is open at the start
//!
//! [subscriptions]         # subscribe messages need the user's subscription (43101 without)
//! endpoints = ["subscribeMessage.send"]   # the sends that need and use one
//!
//! [[subscriptions.granted]]   # held from the start; replaces the default list
//! openid = "OPENID"
//! template_id = "TEMPLATE_ID"
//! # times = 3             # one-time subscriptions; long-term without `times`
//!
//! [push]                  # optional: the developer's push endpoint
//! url = "http://127.0.0.1:3000/wechat/push"
//! # urls = ["http://127.0.0.1:3001/wechat/push"]  # more instances, one attempt each in turn
//! token = "TOKEN"
//! # aes_key = "..."      # 43 characters: safe mode; plaintext without it
//! encoding = "json"       # or "xml"
//!
//! [security]            # content checks (security.msgSecCheck, mediaCheckAsync)
//! risky = [{ word = "赌博", label = 20006 }]   # a text containing a word is risky
//! visit_window_secs = 7200      # 61010 for a user who has not acted this recently
//! media_check_delay_secs = 1    # mediaCheckAsync pushes its verdict this much later
//!
//! [cloud]
//! envs = []               # empty: any env is accepted
//! functions = []          # empty: any function name is accepted
//! ```
//!
//! Every duration is at most [`crate::MAX_DURATION`] (100 years).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use wechat_msg::meta::{EndpointInfo, Role};

use crate::clock::{MAX_DURATION, MAX_SECS};
use crate::faults::Faults;

/// The emulator's configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Where to listen; `127.0.0.1:0` (a free loopback port) by default.
    pub listen: SocketAddr,
    /// The one app the emulator serves.
    pub app: App,
    /// Access-token lifetimes.
    pub tokens: Tokens,
    /// The openids, template ids, form_ids and media the emulator knows.
    pub known: Known,
    /// The account's subscribe templates and the public template library.
    pub templates: Templates,
    /// Daily and per-user limits.
    pub quotas: Quotas,
    /// What the cloud-function endpoint accepts.
    pub cloud: Cloud,
    /// The content checks: risky words and their labels.
    pub security: Security,
    /// The customer-service conversation: reply windows and typing.
    pub conversation: Conversation,
    /// Users' subscriptions to the account's templates, which subscribe
    /// messages need.
    pub subscriptions: Subscriptions,
    /// The developer's push endpoint, where users' messages and events are
    /// pushed; none by default (users still act, and the pushes are recorded
    /// as undelivered).
    pub push: Option<PushTarget>,
    /// Faults active from the start (usually none).
    pub faults: Faults,
    /// Answer 45103 ("This API has been unsupported") for endpoints the spec
    /// marks deprecated, as WeChat does for retired APIs. Off by default: the
    /// emulator keeps serving them so code that still uses them can be tested.
    pub retired_unsupported: bool,
    /// The largest request body accepted, in bytes (16 MiB by default).
    pub max_body_bytes: usize,
    /// How long a client has to send a request head once it starts one, or
    /// once the previous answer went out on a kept-alive connection; then
    /// the connection is closed. 10 s by default.
    #[serde(rename = "header_read_timeout_secs", deserialize_with = "secs")]
    pub header_read_timeout: Duration,
    /// How long a client has to send a whole request body once its head
    /// arrived; then it is answered 408 and the connection is closed. 30 s
    /// by default.
    #[serde(rename = "body_read_timeout_secs", deserialize_with = "secs")]
    pub body_read_timeout: Duration,
    /// At shutdown, how long requests in progress get to finish before their
    /// connections are dropped. 5 s by default.
    #[serde(rename = "shutdown_grace_secs", deserialize_with = "secs")]
    pub shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            app: App::default(),
            tokens: Tokens::default(),
            known: Known::default(),
            templates: Templates::default(),
            quotas: Quotas::default(),
            cloud: Cloud::default(),
            security: Security::default(),
            conversation: Conversation::default(),
            subscriptions: Subscriptions::default(),
            push: None,
            faults: Faults::default(),
            retired_unsupported: false,
            max_body_bytes: 16 << 20,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl Config {
    /// Parses a TOML configuration and checks it.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError(format!("invalid configuration: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a TOML configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Config::from_toml(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// Checks what serde cannot: endpoint names in `quotas.endpoints` exist,
    /// a per-user limit is only set where a request names a user, media
    /// bytes are valid base64, the app has an appid and a secret, and
    /// durations are at most [`MAX_DURATION`] (timeouts and the token
    /// lifetime above zero).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_for(wechat_msg::ENDPOINTS)
    }

    /// [`Config::validate`] against another spec's endpoints.
    pub fn validate_for(&self, endpoints: &[&EndpointInfo]) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        for (i, word) in self.security.risky.iter().enumerate() {
            if word.word.is_empty() {
                problems.push(format!("security.risky[{i}].word: is empty"));
            }
        }
        if self.app.appid.is_empty() || self.app.secret.is_empty() {
            problems.push("app.appid and app.secret must not be empty".to_owned());
        }
        for (name, quota) in &self.quotas.endpoints {
            match endpoints.iter().find(|e| e.name == name) {
                None => problems.push(format!("quotas.endpoints: unknown endpoint `{name}`")),
                Some(info) => {
                    let names_user = info.roles.iter().any(|r| r.role == Role::Openid);
                    if quota.per_user.is_some() && !names_user {
                        problems.push(format!(
                            "quotas.endpoints.\"{name}\".per_user: the endpoint names no user"
                        ));
                    }
                }
            }
        }
        for media in &self.known.media {
            if media.bytes().is_none() {
                problems.push(format!("known.media `{}`: base64 is not valid", media.id));
            }
        }
        for (i, grant) in self.subscriptions.granted.iter().enumerate() {
            let at = format!("subscriptions.granted[{i}]");
            if grant.openid.is_empty() || grant.openid.chars().any(char::is_control) {
                problems.push(format!("{at}.openid must be non-empty text"));
            }
            let known = self.known.template_ids.contains(&grant.template_id)
                || self
                    .templates
                    .private
                    .iter()
                    .any(|t| t.id == grant.template_id);
            // The built-in grant stands only while the account has its
            // template: a configuration with templates of its own need not
            // undo it.
            let built_in = Subscriptions::default().granted.contains(grant);
            if !known && !built_in {
                problems.push(format!(
                    "{at}.template_id: `{}` is not one of the account's templates (templates.private, known.template_ids)",
                    grant.template_id
                ));
            }
            if grant.times == Some(0) {
                problems.push(format!(
                    "{at}.times must be at least 1 (leave it out for a long-term subscription)"
                ));
            }
        }
        self.templates.problems(&mut problems);
        if let Some(push) = &self.push
            && let Err(e) = push.signer(&self.app.appid)
        {
            problems.push(format!("push: {e}"));
        }
        if self.tokens.lifetime.is_zero() {
            problems.push("tokens.lifetime_secs must be positive".to_owned());
        }
        let durations = [
            ("tokens.lifetime_secs", self.tokens.lifetime, false),
            ("tokens.grace_secs", self.tokens.grace, false),
            (
                "known.form_id_lifetime_secs",
                self.known.form_id_lifetime,
                false,
            ),
            (
                "known.media_lifetime_secs",
                self.known.media_lifetime,
                false,
            ),
            ("header_read_timeout_secs", self.header_read_timeout, true),
            ("body_read_timeout_secs", self.body_read_timeout, true),
            ("shutdown_grace_secs", self.shutdown_grace, false),
            (
                "conversation.message_window_secs",
                self.conversation.message_window,
                true,
            ),
            (
                "conversation.enter_window_secs",
                self.conversation.enter_window,
                true,
            ),
            (
                "conversation.typing_interaction_secs",
                self.conversation.typing_interaction,
                false,
            ),
            ("conversation.typing_secs", self.conversation.typing, false),
            (
                "security.visit_window_secs",
                self.security.visit_window,
                false,
            ),
            (
                "security.media_check_delay_secs",
                self.security.media_check_delay,
                false,
            ),
        ];
        for (name, value, positive) in durations {
            if value > MAX_DURATION {
                problems.push(format!(
                    "{name}: {} is past the limit of {MAX_SECS} s (100 years)",
                    value.as_secs_f64()
                ));
            } else if positive && value.is_zero() {
                problems.push(format!("{name} must be positive"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError(problems.join("; ")))
        }
    }

    /// The daily limit of endpoint `name`, if any.
    pub fn daily_quota(&self, name: &str) -> Option<u64> {
        self.quotas
            .endpoints
            .get(name)
            .and_then(|q| q.daily)
            .or(self.quotas.daily)
    }

    /// The per-user limit of endpoint `name`, if any.
    pub fn per_user_quota(&self, name: &str) -> Option<u64> {
        self.quotas.endpoints.get(name).and_then(|q| q.per_user)
    }
}

/// A configuration that cannot be used, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// The app's credentials. Debug output redacts both.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct App {
    /// The AppID.
    pub appid: String,
    /// The AppSecret.
    pub secret: String,
    /// The Mini Program's original ID (`gh_...`): the `ToUserName` of its
    /// pushes.
    pub original_id: String,
}

impl App {
    /// The default app's AppID.
    pub const DEFAULT_APPID: &'static str = "wx5e1c0a7d3f2b4c68";
    /// The default app's original ID.
    pub const DEFAULT_ORIGINAL_ID: &'static str = "gh_5e1c0a7d3f2b";
    /// The default app's AppSecret. It is public: the emulator prints it.
    pub const DEFAULT_SECRET: &'static str = "0d1b2c3e4f5a69788796a5f4e3d2c1b0";
}

impl Default for App {
    fn default() -> Self {
        App {
            appid: App::DEFAULT_APPID.to_owned(),
            secret: App::DEFAULT_SECRET.to_owned(),
            original_id: App::DEFAULT_ORIGINAL_ID.to_owned(),
        }
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("appid", &"<redacted>")
            .field("secret", &"<redacted>")
            .field("original_id", &self.original_id)
            .finish()
    }
}

/// Access-token lifetimes.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Tokens {
    /// How long a token lives (`expires_in`); 7200 s by default.
    #[serde(rename = "lifetime_secs", deserialize_with = "secs")]
    pub lifetime: Duration,
    /// How long a classic or force-refreshed token keeps working after a newer
    /// one is issued; 300 s by default.
    #[serde(rename = "grace_secs", deserialize_with = "secs")]
    pub grace: Duration,
}

impl Default for Tokens {
    fn default() -> Self {
        Tokens {
            lifetime: Duration::from_secs(7200),
            grace: Duration::from_secs(300),
        }
    }
}

/// The account's subscribe templates and the public library they are
/// composed from (`[templates]`).
///
/// The private templates are the template ids the emulator knows: each
/// `known.template_ids` entry that is not one of them is a private template
/// with no keywords, so old configurations keep working. By default there
/// is one, `TEMPLATE_ID`, whose content names `thing1` (the README's
/// example), `time2`, `date3`, `character_string4` and `phrase5` (an enum
/// keyword: `待开始`, `进行中` or `已结束`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Templates {
    /// How many private templates the account may have; addTemplate answers
    /// 200012 past it. WeChat's limit is 25.
    pub max_private: usize,
    /// The account's private templates.
    pub private: Vec<PrivateTemplate>,
    /// The categories of the Mini Program (getCategory).
    pub categories: Vec<Category>,
    /// The public templates of those categories.
    pub library: Vec<PublicTemplate>,
}

impl Default for Templates {
    fn default() -> Self {
        let keyword = |kid, name: &str, example: &str, rule: &str| PublicKeyword {
            kid,
            name: name.to_owned(),
            example: example.to_owned(),
            rule: rule.to_owned(),
        };
        Templates {
            max_private: 25,
            private: vec![PrivateTemplate {
                id: "TEMPLATE_ID".to_owned(),
                title: "会议提醒".to_owned(),
                content: "会议名称:{{thing1.DATA}}\n会议时间:{{time2.DATA}}\n会议日期:{{date3.DATA}}\n会议编号:{{character_string4.DATA}}\n会议状态:{{phrase5.DATA}}".to_owned(),
                example: "会议名称:周会\n会议时间:15:01\n会议日期:2019年10月1日\n会议编号:A-1024\n会议状态:待开始".to_owned(),
                template_type: 3,
                enums: BTreeMap::from([(
                    "phrase5".to_owned(),
                    vec!["待开始".to_owned(), "进行中".to_owned(), "已结束".to_owned()],
                )]),
            }],
            categories: vec![
                Category { id: 2, name: "商家自营".to_owned() },
                Category { id: 616, name: "餐饮服务".to_owned() },
            ],
            library: vec![
                PublicTemplate {
                    tid: 99,
                    title: "付款成功通知".to_owned(),
                    template_type: 2,
                    category_id: 616,
                    keywords: vec![
                        keyword(1, "商品名称", "咖啡", "thing"),
                        keyword(2, "支付金额", "￥25.00", "amount"),
                        keyword(3, "支付时间", "2019年10月1日 15:01", "date"),
                        keyword(4, "订单号", "DD20191001", "character_string"),
                    ],
                },
                PublicTemplate {
                    tid: 401,
                    title: "会议提醒".to_owned(),
                    template_type: 2,
                    category_id: 2,
                    keywords: vec![
                        keyword(1, "会议名称", "周会", "thing"),
                        keyword(2, "会议时间", "15:01", "time"),
                        keyword(3, "会议地点", "三楼会议室", "thing"),
                        keyword(4, "联系电话", "020-12345678", "phone_number"),
                        keyword(5, "会议状态", "待开始", "phrase"),
                    ],
                },
            ],
        }
    }
}

impl Templates {
    fn problems(&self, problems: &mut Vec<String>) {
        let mut ids = std::collections::HashSet::new();
        for t in &self.private {
            if t.id.is_empty() {
                problems.push("templates.private: an id must not be empty".to_owned());
            }
            if !ids.insert(&t.id) {
                problems.push(format!("templates.private: `{}` is given twice", t.id));
            }
            if t.template_type != 2 && t.template_type != 3 {
                problems.push(format!(
                    "templates.private `{}`: type must be 2 (one-time) or 3 (long-term), not {}",
                    t.id, t.template_type
                ));
            }
        }
        let mut tids = std::collections::HashSet::new();
        for t in &self.library {
            if !tids.insert(t.tid) {
                problems.push(format!("templates.library: tid {} is given twice", t.tid));
            }
            if !self.categories.iter().any(|c| c.id == t.category_id) {
                problems.push(format!(
                    "templates.library tid {}: category_id {} is not in templates.categories",
                    t.tid, t.category_id
                ));
            }
            let mut kids = std::collections::HashSet::new();
            for k in &t.keywords {
                if !kids.insert(k.kid) {
                    problems.push(format!(
                        "templates.library tid {}: kid {} is given twice",
                        t.tid, k.kid
                    ));
                }
            }
        }
    }
}

/// A private template of the account (getTemplateList's items).
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PrivateTemplate {
    /// Its template id (`priTmplId`).
    pub id: String,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// Its content: one `NAME:{{KEY.DATA}}` line per keyword.
    #[serde(default)]
    pub content: String,
    /// Its content with example values.
    #[serde(default)]
    pub example: String,
    /// 2: one-time subscription; 3: long-term.
    #[serde(rename = "type", default = "long_term")]
    pub template_type: i64,
    /// The values allowed for its enum keywords, by key (`phrase5`):
    /// subscribeMessage.send answers 47003 for any other value.
    #[serde(default)]
    pub enums: BTreeMap<String, Vec<String>>,
}

fn long_term() -> i64 {
    3
}

impl PrivateTemplate {
    /// A template with an id and nothing else: what a `known.template_ids`
    /// entry is.
    pub fn bare(id: impl Into<String>) -> Self {
        PrivateTemplate {
            id: id.into(),
            title: String::new(),
            content: String::new(),
            example: String::new(),
            template_type: long_term(),
            enums: BTreeMap::new(),
        }
    }
}

/// A category of the Mini Program.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Category {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
}

/// A public template of the library.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PublicTemplate {
    /// Its id (`tid`).
    pub tid: i64,
    /// Its title.
    pub title: String,
    /// 2: one-time subscription; 3: long-term.
    #[serde(rename = "type")]
    pub template_type: i64,
    /// Its category (one of [`Templates::categories`]).
    pub category_id: i64,
    /// The keywords a private template picks from.
    pub keywords: Vec<PublicKeyword>,
}

/// A keyword of a public template.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PublicKeyword {
    /// Its id (`kid`).
    pub kid: i64,
    /// Its name (`会议时间`).
    pub name: String,
    /// An example value.
    #[serde(default)]
    pub example: String,
    /// Its type (`thing`): a template made from it names it `{rule}{kid}`.
    pub rule: String,
}

/// What the emulator knows from the start.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Known {
    /// Users' OpenIDs (others answer 40003).
    pub openids: Vec<String>,
    /// Template IDs (others answer 40037): private templates without
    /// keywords, besides those of [`Templates::private`].
    pub template_ids: Vec<String>,
    /// Unused form_ids, each usable once (others answer 41028).
    pub form_ids: Vec<String>,
    /// How long a registered form_id stays usable; 7 days by default.
    #[serde(rename = "form_id_lifetime_secs", deserialize_with = "secs")]
    pub form_id_lifetime: Duration,
    /// Media present from the start; they never expire.
    pub media: Vec<KnownMedia>,
    /// Activity ids of updatable messages, as if createActivityId had just
    /// made them (they expire 24 hours after the emulator starts).
    pub activity_ids: Vec<String>,
    /// How long uploaded media live; 3 days by default, as WeChat's temporary media.
    #[serde(rename = "media_lifetime_secs", deserialize_with = "secs")]
    pub media_lifetime: Duration,
}

impl Default for Known {
    fn default() -> Self {
        Known {
            openids: vec!["OPENID".to_owned()],
            template_ids: vec!["TEMPLATE_ID".to_owned()],
            form_ids: vec!["FORMID".to_owned()],
            form_id_lifetime: Duration::from_secs(7 * 24 * 3600),
            media: vec![
                KnownMedia::png("MEDIA_ID"),
                KnownMedia::png("thumb_media_id"),
            ],
            media_lifetime: Duration::from_secs(3 * 24 * 3600),
            activity_ids: vec!["ACTIVITY_ID".to_owned()],
        }
    }
}

/// A medium the emulator holds from the start.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownMedia {
    /// Its media_id.
    pub id: String,
    /// Its content type; `image/png` by default.
    #[serde(default = "png_type")]
    pub content_type: String,
    /// Its bytes as base64; a 1x1 PNG when absent.
    #[serde(default)]
    pub base64: Option<String>,
}

impl KnownMedia {
    /// A medium named `id` holding a 1x1 PNG.
    pub fn png(id: impl Into<String>) -> Self {
        KnownMedia {
            id: id.into(),
            content_type: png_type(),
            base64: None,
        }
    }

    /// Its bytes, `None` when `base64` is not valid base64.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        match &self.base64 {
            None => Some(TINY_PNG.to_vec()),
            Some(text) => crate::media::decode_base64(text),
        }
    }
}

fn png_type() -> String {
    "image/png".to_owned()
}

/// A valid 1x1 transparent PNG: the bytes of the built-in media.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00,
    0x00, 0x05, 0x00, 0x01, 0x7a, 0x5e, 0xab, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
];

/// The customer-service conversation, as WeChat runs it for Mini Programs:
/// a user who writes opens a reply window of `message_window_count` messages
/// within `message_window_secs`; a user who enters the conversation
/// (`user_enter_tempsession`) opens one of `enter_window_count` within
/// `enter_window_secs`. Each action resets the allowance (windows do not
/// add up). A reply with no open window answers 45015, one past the count
/// 45047. Typing needs an interaction within `typing_interaction_secs`
/// (45080), lasts `typing_secs` and cannot be set again while on (45081).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Conversation {
    /// Window after a message from the user: 48 hours.
    #[serde(rename = "message_window_secs", deserialize_with = "secs")]
    pub message_window: Duration,
    /// Messages allowed in that window: 5.
    pub message_window_count: u32,
    /// Window after the user enters the conversation: 1 minute.
    #[serde(rename = "enter_window_secs", deserialize_with = "secs")]
    pub enter_window: Duration,
    /// Messages allowed in that window: 2.
    pub enter_window_count: u32,
    /// Typing needs an interaction this recent: 30 s.
    #[serde(rename = "typing_interaction_secs", deserialize_with = "secs")]
    pub typing_interaction: Duration,
    /// How long typing stays on: 15 s.
    #[serde(rename = "typing_secs", deserialize_with = "secs")]
    pub typing: Duration,
    /// Users whose message window is open at the start, as if they had just
    /// written: `["OPENID"]`, so the documentation's examples can be sent to
    /// a fresh emulator.
    pub open: Vec<String>,
    /// The endpoints that reply in the conversation (window-checked):
    /// `customerServiceMessage.send`. Names the served spec does not have
    /// are ignored.
    pub reply_endpoints: Vec<String>,
    /// The endpoint that sets typing: `customerServiceMessage.setTyping`.
    pub typing_endpoint: Option<String>,
}

impl Default for Conversation {
    fn default() -> Self {
        Conversation {
            message_window: Duration::from_secs(48 * 3600),
            message_window_count: 5,
            enter_window: Duration::from_secs(60),
            enter_window_count: 2,
            typing_interaction: Duration::from_secs(30),
            typing: Duration::from_secs(15),
            open: vec!["OPENID".to_owned()],
            reply_endpoints: vec!["customerServiceMessage.send".to_owned()],
            typing_endpoint: Some("customerServiceMessage.setTyping".to_owned()),
        }
    }
}

/// Users' subscriptions to the account's templates (`[subscriptions]`).
///
/// A message of an endpoint in `endpoints` (subscribeMessage.send) goes
/// only to a user who holds a subscription to its template: a one-time
/// subscription is used up by each message accepted, a long-term one never
/// is. Without one the answer is 43101 (`user refuse to accept the msg`),
/// after every check of the message itself, so a rejected message uses
/// nothing up. More are granted at run time with `POST
/// /_emulator/users/{openid}/subscriptions`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Subscriptions {
    /// The endpoints that need a subscription, by cloud-call name:
    /// `["subscribeMessage.send"]`. Names the served spec does not have are
    /// ignored; an empty list turns the check off.
    pub endpoints: Vec<String>,
    /// Subscriptions held from the start: by default `OPENID`'s long-term
    /// subscription to `TEMPLATE_ID` (while the account has that template),
    /// so the documentation's examples can be sent to a fresh emulator. A list in the file replaces it. Each
    /// template id must be one of the account's templates
    /// (`templates.private` or `known.template_ids`). A grant does not
    /// make its openid known: list the user in `known.openids` too (a
    /// message to an unknown openid answers 40003 first).
    pub granted: Vec<Grant>,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Subscriptions {
            endpoints: vec!["subscribeMessage.send".to_owned()],
            granted: vec![Grant {
                openid: "OPENID".to_owned(),
                template_id: "TEMPLATE_ID".to_owned(),
                times: None,
            }],
        }
    }
}

/// A user's subscription to a template (`[[subscriptions.granted]]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The user.
    pub openid: String,
    /// The template, one of the account's.
    pub template_id: String,
    /// One-time subscriptions (at least 1); a long-term subscription when
    /// absent.
    #[serde(default)]
    pub times: Option<u64>,
}

impl Grant {
    /// A long-term subscription of `openid` to `template_id`.
    pub fn long_term(openid: impl Into<String>, template_id: impl Into<String>) -> Self {
        Grant {
            openid: openid.into(),
            template_id: template_id.into(),
            times: None,
        }
    }

    /// `times` one-time subscriptions of `openid` to `template_id`.
    pub fn one_time(openid: impl Into<String>, template_id: impl Into<String>, times: u64) -> Self {
        Grant {
            openid: openid.into(),
            template_id: template_id.into(),
            times: Some(times),
        }
    }
}

/// The developer's push endpoint (`PUT /_emulator/push` or `[push]`). No
/// `aes_key` means plaintext mode; with one, pushes are sealed (safe mode)
/// for the app's appid. Debug output redacts the token and the key.
#[derive(Clone, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PushTarget {
    /// Where to POST pushes.
    #[serde(default)]
    pub url: String,
    /// More instances of the endpoint behind one load balancer: with `url`
    /// (when given) first, each attempt goes to the next URL in turn, so a
    /// retry lands on another instance.
    #[serde(default)]
    pub urls: Vec<String>,
    /// The push Token.
    pub token: String,
    /// The EncodingAESKey (43 characters), for safe mode.
    #[serde(default)]
    pub aes_key: Option<String>,
    /// `json` or `xml`.
    #[serde(default = "json_encoding")]
    pub encoding: String,
}

fn json_encoding() -> String {
    "json".to_owned()
}

impl fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushTarget")
            .field("url", &self.url)
            .field("urls", &self.urls)
            .field("encoding", &self.encoding)
            .field("encrypted", &self.aes_key.is_some())
            .finish_non_exhaustive()
    }
}

impl PushTarget {
    /// The signer of this target's pushes (sealed for `appid`), and their
    /// encoding; an error naming what is wrong (never the token or the key).
    pub fn signer(
        &self,
        appid: &str,
    ) -> Result<
        (
            wechat_msg::push::PushSigner,
            wechat_msg::push::body::Encoding,
        ),
        String,
    > {
        if self.attempt_urls().is_empty() {
            return Err("give the endpoint's `url` or `urls`".to_owned());
        }
        if let Some(bad) = self
            .attempt_urls()
            .into_iter()
            .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(format!("`{bad}` is not an http:// or https:// URL"));
        }
        let encoding = self.encoding.parse()?;
        let mut signer =
            wechat_msg::push::PushSigner::new(&self.token).map_err(|e| e.to_string())?;
        if let Some(key) = &self.aes_key {
            signer = signer.encrypted(key, appid).map_err(|e| e.to_string())?;
        }
        Ok((signer, encoding))
    }

    /// Every URL attempts go to, in turn: `url` (when given), then `urls`.
    pub fn attempt_urls(&self) -> Vec<&str> {
        std::iter::once(self.url.as_str())
            .filter(|u| !u.is_empty())
            .chain(self.urls.iter().map(String::as_str))
            .collect()
    }
}

/// Daily and per-user limits.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Quotas {
    /// Accepted calls a day per endpoint (45009 beyond), unless the endpoint's
    /// entry says otherwise; 1,000,000 by default, WeChat's documented figure.
    pub daily: Option<u64>,
    /// Per-endpoint limits, keyed by cloud-call name.
    pub endpoints: BTreeMap<String, EndpointQuota>,
}

impl Default for Quotas {
    fn default() -> Self {
        // No per-user limit by default: customer-service messages are
        // limited by the conversation's reply window, as WeChat limits them.
        Quotas {
            daily: Some(1_000_000),
            endpoints: BTreeMap::new(),
        }
    }
}

/// The limits of one endpoint. A "day" lasts until [`crate::Emulator::new_day`]
/// or a reset.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EndpointQuota {
    /// Accepted calls a day (45009 beyond); the global `daily` when absent.
    pub daily: Option<u64>,
    /// Accepted calls a day to one user, as named by the request's openid
    /// field (45047 beyond); no limit when absent.
    pub per_user: Option<u64>,
}

impl EndpointQuota {
    /// A limit of `daily` calls a day and `per_user` calls to one user.
    pub fn new(daily: Option<u64>, per_user: Option<u64>) -> Self {
        EndpointQuota { daily, per_user }
    }
}

/// What `POST /tcb/invokecloudfunction` accepts.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Cloud {
    /// Cloud environment ids; empty accepts any.
    pub envs: Vec<String>,
    /// Function names (the relay's); empty accepts any.
    pub functions: Vec<String>,
}

/// Reads a number of seconds (integer or fractional) as a `Duration`.
fn secs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let value = f64::deserialize(deserializer)?;
    Duration::try_from_secs_f64(value).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_default() {
        let config = Config::from_toml("").unwrap();
        assert_eq!(config.app, App::default());
        assert_eq!(config.known.openids, ["OPENID"]);
        assert_eq!(config.daily_quota("templateMessage.send"), Some(1_000_000));
        assert_eq!(config.per_user_quota("customerServiceMessage.send"), None);
        assert_eq!(config.conversation.open, ["OPENID"]);
        assert_eq!(
            config.subscriptions.granted,
            [Grant::long_term("OPENID", "TEMPLATE_ID")]
        );
        assert_eq!(config.subscriptions.endpoints, ["subscribeMessage.send"]);
        assert!(config.push.is_none());
    }

    #[test]
    fn reads_and_checks_subscriptions() {
        let config = Config::from_toml(
            r#"
            [[subscriptions.granted]]
            openid = "U1"
            template_id = "TEMPLATE_ID"
            times = 2
            "#,
        )
        .unwrap();
        assert_eq!(
            config.subscriptions.granted,
            [Grant::one_time("U1", "TEMPLATE_ID", 2)]
        );
        let err = Config::from_toml(
            r#"
            [[subscriptions.granted]]
            openid = "U1"
            template_id = "NOT_OURS"
            [[subscriptions.granted]]
            openid = ""
            template_id = "TEMPLATE_ID"
            times = 0
            "#,
        )
        .unwrap_err();
        assert!(
            err.0.contains(
                "subscriptions.granted[0].template_id: `NOT_OURS` is not one of the account's templates"
            ),
            "{err}"
        );
        assert!(
            err.0
                .contains("subscriptions.granted[1].openid must be non-empty text"),
            "{err}"
        );
        assert!(
            err.0
                .contains("subscriptions.granted[1].times must be at least 1"),
            "{err}"
        );
        let err = Config::from_toml("[[subscriptions.granted]]\nopenid = \"U\"").unwrap_err();
        assert!(err.0.contains("template_id"), "{err}");
    }

    #[test]
    fn reads_every_section() {
        let config = Config::from_toml(
            r#"
            listen = "127.0.0.1:9001"
            retired_unsupported = true
            [app]
            appid = "wxA"
            secret = "S"
            [tokens]
            lifetime_secs = 0.5
            grace_secs = 0
            [known]
            openids = ["U1", "U2"]
            [[known.media]]
            id = "M"
            content_type = "text/plain"
            base64 = "aGk="
            [quotas]
            daily = 3
            [quotas.endpoints."customerServiceMessage.send"]
            per_user = 1
            [cloud]
            envs = ["prod"]
            [faults]
            system_busy = 2
            latency_ms = 5
            "#,
        )
        .unwrap();
        assert_eq!(config.tokens.lifetime, Duration::from_millis(500));
        assert_eq!(config.known.openids, ["U1", "U2"]);
        assert_eq!(config.known.media[0].bytes().unwrap(), b"hi");
        assert_eq!(config.daily_quota("customerServiceMessage.send"), Some(3));
        assert_eq!(
            config.per_user_quota("customerServiceMessage.send"),
            Some(1)
        );
        assert_eq!(config.faults.system_busy, 2);
        assert!(config.retired_unsupported);
    }

    #[test]
    fn reports_every_mistake() {
        let err = Config::from_toml(
            r#"
            [quotas.endpoints."nope.send"]
            daily = 1
            [[known.media]]
            id = "M"
            base64 = "***"
            "#,
        )
        .unwrap_err();
        assert!(err.0.contains("unknown endpoint `nope.send`"), "{err}");
        assert!(err.0.contains("base64"), "{err}");
    }

    #[test]
    fn the_shipped_example_is_valid() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/emulator.toml");
        let config = Config::from_file(path).unwrap();
        assert_eq!(config.known.openids, ["OPENID", "ANOTHER_OPENID"]);
        assert_eq!(config.known.media.len(), 2);
        assert_eq!(
            config.subscriptions.granted,
            [
                Grant::long_term("OPENID", "TEMPLATE_ID"),
                Grant::one_time("ANOTHER_OPENID", "TEMPLATE_ID", 3)
            ]
        );
        assert_eq!(config.header_read_timeout, Duration::from_secs(10));
        assert_eq!(config.body_read_timeout, Duration::from_secs(30));
        assert_eq!(config.shutdown_grace, Duration::from_secs(5));
        // Its templates are the defaults, written out.
        assert_eq!(config.templates.private, Templates::default().private);
        assert_eq!(config.known.activity_ids, ["ACTIVITY_ID"]);
        assert_eq!(config.security.risky, Security::default().risky);
        assert_eq!(config.security.visit_window, Duration::from_secs(7200));
    }

    #[test]
    fn the_security_section_reads_and_refuses_an_empty_word() {
        let config = Config::from_toml(
            "[security]\nrisky = [{ word = \"spam\", label = 10001 }]\nmedia_check_delay_secs = 0.5\n",
        )
        .unwrap();
        assert_eq!(config.security.risky, [RiskyWord::new("spam", 10001)]);
        assert_eq!(
            config.security.media_check_delay,
            Duration::from_millis(500)
        );
        let err =
            Config::from_toml("[security]\nrisky = [{ word = \"\", label = 1 }]\n").unwrap_err();
        assert!(err.0.contains("security.risky[0].word: is empty"), "{err}");
    }

    #[test]
    fn rejects_unknown_keys() {
        let err = Config::from_toml("lisen = \"127.0.0.1:1\"").unwrap_err();
        assert!(err.0.contains("lisen"), "{err}");
    }

    #[test]
    fn debug_redacts_the_credentials() {
        let shown = format!("{:?}", Config::default());
        assert!(!shown.contains(App::DEFAULT_APPID));
        assert!(!shown.contains(App::DEFAULT_SECRET));
    }
}

/// The content checks (`[security]`): which words make a text risky, and
/// how they answer.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Security {
    /// Words that make a text risky, each with its label. msgSecCheck
    /// answers `suggest = "risky"` and the first match's label.
    pub risky: Vec<RiskyWord>,
    /// A check about a user who has not acted (written, entered the
    /// conversation) within this long answers 61010. 2 hours by default;
    /// known users count as having acted when the emulator starts.
    #[serde(rename = "visit_window_secs", deserialize_with = "secs")]
    pub visit_window: Duration,
    /// How long after mediaCheckAsync its verdict is pushed. 1 s by default
    /// (WeChat: within 30 minutes).
    #[serde(rename = "media_check_delay_secs", deserialize_with = "secs")]
    pub media_check_delay: Duration,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            risky: vec![RiskyWord::new("赌博", 20006)],
            visit_window: Duration::from_secs(2 * 3600),
            media_check_delay: Duration::from_secs(1),
        }
    }
}

/// A risky word and the label a text containing it gets.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RiskyWord {
    /// The word (matched anywhere in the text).
    pub word: String,
    /// Its label: 10001 ad, 20001 politics, 20002 porn, 20003 abuse,
    /// 20006 illegal, 20008 fraud, 20012 vulgar, 20013 copyright, 21000 other.
    pub label: i64,
}

impl RiskyWord {
    /// `word`, labelled `label`.
    pub fn new(word: impl Into<String>, label: i64) -> Self {
        RiskyWord {
            word: word.into(),
            label,
        }
    }
}
