//! A local WeChat server for every endpoint in the wechat-msg spec.
//!
//! The emulator serves, on loopback, what a client of WeChat's server API
//! talks to: the token endpoints, every endpoint of `api-spec/` (routed by
//! method and path from the generated metadata, bodies checked with the
//! generated parsers), and `POST /tcb/invokecloudfunction` running the relay
//! function of cloud calls. It knows a few openids, template ids, form_ids
//! and media; it enforces quotas; it injects faults on demand; and it
//! records every message it accepts.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use wechat_msg_emulator::{Config, Emulator};
//!
//! let emulator = Emulator::start(Config::default()).await?;
//! let base_url = emulator.base_url(); // point the client here
//! let app = emulator.app();            // the appid and secret it accepts
//! # let _ = (base_url, app);
//! // ... send messages ...
//! assert_eq!(emulator.messages().len(), 0);
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! The default [`Config`] makes the examples of WeChat's documentation
//! succeed as written: it knows openid `OPENID`, template `TEMPLATE_ID`,
//! form_id `FORMID` (usable once), media `MEDIA_ID` and `thumb_media_id` and
//! the activity id `ACTIVITY_ID` (see [`config::Templates`] for its templates),
//! `OPENID`'s reply window is open, as if the user had just written, and
//! `OPENID` holds a long-term subscription to `TEMPLATE_ID`.
//!
//! Subscribe messages need the user's subscription to the template, as in
//! WeChat: [`Emulator::subscribe`] (or `POST
//! /_emulator/users/{openid}/subscriptions`) grants one-time subscriptions,
//! each used up by one accepted message, or a long-term one; a message
//! without one answers 43101. See [`config::Subscriptions`].
//!
//! It plays the user too: [`Emulator::user_acts`] (or `POST
//! /_emulator/users/{openid}/messages`) makes a user write or enter the
//! conversation, which opens their reply window and is pushed to the
//! developer's push endpoint ([`Emulator::set_push`]) as WeChat pushes it.
//! See [`config`] for the TOML format and [Control](crate#control) for the
//! HTTP control API.
//!
//! # Errors it answers
//!
//! | errcode | when |
//! |---|---|
//! | 41001 / 40001 / 42001 | access_token missing / unknown or replaced / expired |
//! | 40002, 41002, 41004, 40013, 40125 | token requests: bad grant_type, appid or secret missing, wrong appid, wrong secret |
//! | 44002 | empty body |
//! | 47001 | a body the spec rejects; errmsg names the field (`link.thumb_url: missing`); a body over [`Config::max_body_bytes`] |
//! | 47003 | a subscribe message keyword whose value breaks its type's rule (`argument invalid! data.thing1.value invalid`, or `... is empty`), checked with the generated [`wechat_msg::keyword`] rules; keys of undeclared types (`short_thing`) pass unchecked; a value outside a template keyword's `keywordEnumValueList` |
//! | 40003 / 40037 | unknown openid / template id (the private templates, [`Templates`]) |
//! | 43101 | a subscribe message to a user without a subscription to its template, or whose one-time subscriptions are used up (checked last) |
//! | 200014 / 200020 / 200021 | addTemplate: unknown tid / kidList not 2 to 5 distinct keywords of the template / sceneDesc over 15 characters (200014 also for getPubTemplateKeyWordsById) |
//! | 200012 / 200022 | addTemplate: [`Templates::max_private`] reached / the same tid and kidList again |
//! | 200016 / 200017 / 200018 / 200019 | getPubTemplateTitleList: start below 0 / limit not 1 to 30 / ids empty / an id that is no category of the account |
//! | 47501 / 47504 | setUpdatableMsg: an activity_id createActivityId did not make / one older than 24 hours (emulator clock) |
//! | 47502 / 47503 | setUpdatableMsg: target_state not 0 or 1, or the message already in state 1 / version_type not develop, trial or release |
//! | 47001 | setUpdatableMsg: a parameter its target_state needs is missing (0: member_count and room_limit, as digits; 1: path and version_type) |
//! | 41028 / 41029 | form_id unknown or expired / already used |
//! | 40007 | unknown or expired media_id |
//! | 45015 | a reply to a user whose reply window is closed (see [`Conversation`]) |
//! | 45009 / 45047 | daily quota / the window's replies (or a configured per-user limit) used up |
//! | 45080 / 45081 / 45072 | typing without a recent interaction / already typing / bad command |
//! | 45103 / 45109 | a retired endpoint, when `retired_unsupported` is set: 45109 with WeChat's errmsg (`This API has been unsupported. For more details, please view https://...`) for one whose errcodes list 45109 (uniformMessage.send), 45103 for the others |
//! | 40129 / 40004 / 61010 | msgSecCheck, mediaCheckAsync: a scene outside 1-4 / a media_type outside 1-2 / a user who has not acted within [`Security::visit_window`] (2 hours, emulator clock; users known from the start acted at the start) |
//! | 76021 / 76022 | getApiQuota: no API has this cgi_path (or none given) / a `/sns/` path, not the account's |
//! | 40013 / 41002 / 41004 / 40125 / 48006 | clearQuota and `POST /cgi-bin/clear_quota/v2`: another appid / appid missing / appsecret missing / wrong appsecret / 10 clears this calendar month already (emulator clock) |
//! | 76001 / 76002 / 76004 | getRidInfo: a rid the emulator never answered / an empty or malformed rid / a rid older than 7 days (emulator clock) |
//! | -1 | a `system_busy` fault |
//! | -604100 | a cloud call whose event names no `namespace.method` (the relay's own refusal) |
//! | -604101 | a cloud call of an API the spec does not have |
//! | -501000 | a cloud invocation without env or function name, or one the configuration does not know |
//! | 40066 | a path the spec does not have (HTTP 404) |
//! | 43001 / 43002 | a token or cloud route asked with the wrong method (HTTP 405) |
//! | -1 with HTTP 408 | a request body that did not arrive within [`Config::body_read_timeout`] (counted under 408) |
//!
//! # Control
//!
//! | method and path | what |
//! |---|---|
//! | `GET /_emulator/` | the endpoints served and these routes |
//! | `GET /_emulator/messages` | accepted calls in order ([`Message`]) |
//! | `GET /_emulator/counters` | [`Counters`] |
//! | `POST /_emulator/reset` | [`Emulator::reset`] |
//! | `GET` / `PUT /_emulator/faults` | [`Emulator::faults`] / [`Emulator::set_faults`] ([`Faults`] as JSON) |
//! | `POST /_emulator/known` | [`Emulator::register`] ([`Registration`] as JSON) |
//! | `POST /_emulator/tokens/expire` | [`Emulator::expire_tokens`] |
//! | `POST /_emulator/clock/advance` | `{"secs": N}`: [`Emulator::advance_clock`] |
//! | `POST /_emulator/new_day` | [`Emulator::new_day`] |
//! | `GET` / `PUT /_emulator/security` | the content checks' risky words: `{"risky": [{"word", "label"}]}` ([`RiskyWord`]) |
//! | `PUT` / `GET` / `DELETE /_emulator/push` | [`Emulator::set_push`] ([`PushTarget`] as JSON: `{"url", "urls"?, "token", "aes_key"?, "encoding": "json"\|"xml"}`) |
//! | `POST /_emulator/users/{openid}/messages` | [`Emulator::user_acts`] (a push body); answers the [`PushDelivery`] and the user's window |
//! | `POST /_emulator/users/{openid}/subscriptions` | [`Emulator::subscribe`]: `{"template_id", "times"?}`; answers the popup's [`PushDelivery`] and the user's subscriptions |
//! | `GET /_emulator/users/{openid}` | [`Emulator::window`] and [`Emulator::subscriptions`] |
//! | `GET /_emulator/pushes` | [`Emulator::pushes`] |
//! | `GET /_emulator/templates` | [`Emulator::templates`]: `{"templates": [...]}` |
//! | `POST /_emulator/templates` | [`Emulator::add_template`] ([`PrivateTemplate`] as JSON: `{"id", "title", "content", "example", "type", "enums"}`) |
//! | `DELETE /_emulator/templates/{id}` | [`Emulator::remove_template`] (404 when there is none) |
//! | `GET /_emulator/events` | server-sent events, one JSON object per call, push, delivery, user action and state change (the crate's README documents them) |
//! | `GET /_emulator/calls` | the call log, newest last: `?openid=&before=&limit=`, the access token and secret removed |
//! | `GET /_emulator/users` | every user: known, pushes made, subscribed, reply window |
//! | `GET /_emulator/users/{openid}/timeline` | the user's pushes and the calls concerning them, in order: `?before=&limit=` |
//! | `GET` / `PUT /_emulator/state` | [`Emulator::snapshot`] / [`Emulator::restore`] ([`Snapshot`] as JSON) |
//! | `GET /_emulator/ui/` | the web UI: play the user, watch the conversation and the app's world live |
//!
//! A control request the emulator refuses is answered `{"ok": false,
//! "error": "..."}` with a 4xx status (400 for a bad body, 405 for a wrong
//! method, 408 for a body that did not arrive in time).
//!
//! # Hostile clients
//!
//! A request head must arrive within [`Config::header_read_timeout`] (10 s
//! by default) and a body within [`Config::body_read_timeout`] (30 s): then
//! the connection is closed (the body's with a 408 answer). At shutdown,
//! requests in progress get [`Config::shutdown_grace`] (5 s), then every
//! connection still open is dropped. Durations from outside (lifetimes,
//! timeouts, clock advances) are at most [`MAX_DURATION`], 100 years.
//!
//! # Layout
//!
//! Modules import only modules listed before them:
//!
//! 1. `clock`, `media`, `tokens`, `faults`, `error`, `typed`, `conn`,
//!    [`inspect`], `events`: leaves (deadlines, base64, token records,
//!    pending faults, error answers and [`EmulatorError`], a validated body
//!    read as its generated request type and a generated answer written,
//!    resettable connections, the public inspection types, the call log and
//!    the event followers).
//! 2. `activities` (updatable messages' activity ids and states),
//!    [`config`], `conversation` (each user's reply window and typing),
//!    `templates` (private templates, the public library, and the
//!    template-management endpoints), `subscriptions` (users' subscriptions
//!    to templates, and the subscribe events), `security` (the content
//!    checks' verdicts), `diagnostics` (the rid records and quota clears),
//!    `snapshot` (the world as JSON), then `state`: what the emulator
//!    knows, behind one lock, and what every handler shares; `pushes`
//!    (users' actions and WeChat's events, framed and queued, and their
//!    deliveries), `world` (what tests and the control API see and set)
//!    and `calls` (a call's checks and commits, in one step).
//! 3. `body`, `reply`: requests read into validated bodies, answers written;
//!    `deliver`: pushes to the developer's server, signed and sealed (a
//!    call's pushes in the background); `media_checks`: media-check
//!    verdicts pushed after their delay.
//! 4. `layers`: the middleware (counting, body deadline and limit, the call
//!    log, faults); `rid_log`: every error answer recorded under its rid.
//! 5. `http`, `cloud`, `control`: the handlers; `ui`: the web UI's assets.
//! 6. `router`, then `server`, then the crate root ([`Emulator`]).
//!
//! The crate's `README.md` shows the emulator run from the command line and
//! from tests.
#![deny(missing_docs)]

mod activities;
mod body;
mod calls;
mod clock;
mod cloud;
pub mod config;
mod conn;
mod control;
mod conversation;
mod deliver;
mod diagnostics;
mod error;
mod events;
mod faults;
mod http;
pub mod inspect;
mod layers;
mod media;
mod media_checks;
mod pushes;
mod reply;
mod rid_log;
mod router;
mod security;
mod server;
mod snapshot;
mod state;
mod subscriptions;
mod templates;
mod tokens;
mod typed;
mod ui;
mod world;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wechat_msg::meta::EndpointInfo;

pub use clock::MAX_DURATION;
pub use config::{
    App, Config, ConfigError, Conversation, EndpointQuota, Grant, PrivateTemplate, PushTarget,
    RiskyWord, Security, Templates,
};
pub use conversation::WindowState;
pub use error::EmulatorError;
pub use faults::Faults;
pub use inspect::{
    Counters, Message, PushAttempt, PushDelivery, RegisteredMedia, Registration, Via,
};
pub use snapshot::{SNAPSHOT_VERSION, Snapshot, UserSnapshot};
pub use subscriptions::Subscription;

use crate::server::Limits;
use crate::state::Shared;

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is not usable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The address could not be bound.
    #[error("cannot listen: {0}")]
    Bind(#[source] io::Error),
}

impl Emulator {
    /// Checks `config`, binds `config.listen` and starts serving on the
    /// current tokio runtime.
    pub async fn start(config: Config) -> Result<Emulator, StartError> {
        Emulator::start_with(config, wechat_msg::ENDPOINTS).await
    }

    /// Starts an emulator of another spec: `endpoints` is the `ENDPOINTS`
    /// of a crate generated with `wechat_msg::api!`.
    pub async fn start_with(
        config: Config,
        endpoints: &'static [&'static EndpointInfo],
    ) -> Result<Emulator, StartError> {
        config.validate_for(endpoints).map_err(StartError::Config)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(StartError::Bind)?;
        let addr = listener.local_addr().map_err(StartError::Bind)?;
        let limits = Limits {
            header_read_timeout: config.header_read_timeout,
            shutdown_grace: config.shutdown_grace,
        };
        let shared = Shared::new(config, endpoints);
        let app = router::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(listener, app, limits, stopped));
        tracing::info!(%addr, endpoints = endpoints.len(), "emulator listening");
        Ok(Emulator {
            shared,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: the base URL to
    /// give a client.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The web UI: `{base_url}/_emulator/ui/`.
    pub fn ui_url(&self) -> String {
        format!("{}/_emulator/ui/", self.base_url())
    }

    /// The app whose credentials it accepts.
    pub fn app(&self) -> &App {
        &self.shared.config.app
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// The calls it accepted, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.shared.messages()
    }

    /// What it has counted.
    pub fn counters(&self) -> Counters {
        self.shared.lock().counters.clone()
    }

    /// The faults still pending.
    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.clone()
    }

    /// Replaces the pending faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
        self.shared.changed("faults");
    }

    /// Back to the configured state: messages, counters, quotas, faults,
    /// uploads and known ids as configured, clock offset kept. Tokens survive,
    /// so clients keep their cached tokens; see [`Emulator::expire_tokens`].
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Starts a new quota day: daily and per-user counts start from zero.
    pub fn new_day(&self) {
        self.shared.new_day();
        self.shared.changed("new_day");
    }

    /// Makes every token issued so far expire now (42001 from then on).
    pub fn expire_tokens(&self) {
        self.shared.expire_tokens();
        self.shared.changed("tokens");
    }

    /// Moves the emulator's clock forward: tokens, form_ids and media expire
    /// as if `by` had passed, and Unix times in answers move with it. The
    /// clock goes at most [`MAX_DURATION`] ahead of real time in total; an
    /// advance past that stops there. (`POST /_emulator/clock/advance`
    /// refuses such an advance instead.)
    pub fn advance_clock(&self, by: Duration) {
        self.shared.advance_clock(by);
        self.shared.changed("clock");
    }

    /// Sets (or, with `None`, removes) the developer's push endpoint, where
    /// users' messages and events are pushed.
    pub fn set_push(&self, target: Option<PushTarget>) -> Result<(), EmulatorError> {
        self.shared.set_push_target(target)?;
        self.shared.changed("push");
        Ok(())
    }

    /// The world as a [`Snapshot`]: users (windows, subscriptions),
    /// templates, messages and pushes (`GET /_emulator/state`).
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot()
    }

    /// Replaces the world with `snapshot`'s (`PUT /_emulator/state`); the
    /// error names what is wrong, and nothing changes then.
    pub fn restore(&self, snapshot: Snapshot) -> Result<(), EmulatorError> {
        self.shared.restore(snapshot)
    }

    /// The user `openid` acts with `push`, a push body in WeChat's JSON push
    /// form (`{"MsgType": "text", "Content": "hi"}`, `{"MsgType": "event",
    /// "Event": "user_enter_tempsession"}`): the emulator fills in
    /// `ToUserName`, `FromUserName`, `CreateTime` and `MsgId`, opens the
    /// user's reply window, and pushes it to the push endpoint as WeChat
    /// does (signed, sealed in safe mode, retried up to three times). The
    /// delivery is recorded either way; an error names what is wrong with
    /// `push`.
    pub async fn user_acts(
        &self,
        openid: &str,
        push: serde_json::Value,
    ) -> Result<PushDelivery, EmulatorError> {
        let serde_json::Value::Object(push) = push else {
            return Err(EmulatorError::PushNotAnObject);
        };
        control::act(&self.shared, openid, push).await
    }

    /// The user `openid` subscribes to `template_id`, one of the account's
    /// templates: `times` one-time subscriptions more (at least 1), each
    /// used up by one accepted subscribe message, or with `None` a long-term
    /// one. The user becomes known, and a `subscribe_msg_popup_event`
    /// (accepted) is pushed to the push endpoint as WeChat pushes it; its
    /// delivery is recorded either way. An error names what is wrong.
    pub async fn subscribe(
        &self,
        openid: &str,
        template_id: &str,
        times: Option<u64>,
    ) -> Result<PushDelivery, EmulatorError> {
        control::subscribe(&self.shared, openid, template_id, times).await
    }

    /// The subscriptions `openid` holds, by template id.
    pub fn subscriptions(&self, openid: &str) -> Vec<Subscription> {
        self.shared.subscriptions(openid)
    }

    /// Every push so far, with its delivery.
    pub fn pushes(&self) -> Vec<PushDelivery> {
        self.shared.pushes()
    }

    /// The reply window of `openid`, when one is open.
    pub fn window(&self, openid: &str) -> Option<WindowState> {
        self.shared.window(openid)
    }

    /// The account's private templates, in order: the template ids
    /// subscribeMessage.send accepts, as getTemplateList lists them.
    pub fn templates(&self) -> Vec<PrivateTemplate> {
        self.shared.templates()
    }

    /// Adds a private template, or replaces the one with its id; refused
    /// when its id is empty or its type is neither 2 nor 3.
    pub fn add_template(&self, template: PrivateTemplate) -> Result<(), EmulatorError> {
        self.shared.add_template(template)
    }

    /// Removes a private template; whether there was one.
    pub fn remove_template(&self, id: &str) -> bool {
        self.shared.remove_template(id)
    }

    /// Adds openids, template ids, form_ids and media.
    pub fn register(&self, known: &Registration) -> Result<(), EmulatorError> {
        self.shared.register(known)
    }

    /// Adds an openid.
    pub fn add_openid(&self, openid: impl Into<String>) {
        self.register_infallible(Registration {
            openids: vec![openid.into()],
            ..Registration::default()
        });
    }

    /// Adds a template id.
    pub fn add_template_id(&self, template_id: impl Into<String>) {
        self.register_infallible(Registration {
            template_ids: vec![template_id.into()],
            ..Registration::default()
        });
    }

    /// Adds a form_id, usable once.
    pub fn add_form_id(&self, form_id: impl Into<String>) {
        self.register_infallible(Registration {
            form_ids: vec![form_id.into()],
            ..Registration::default()
        });
    }

    /// Adds a medium that never expires.
    pub fn add_media(&self, id: impl Into<String>, content_type: impl Into<String>, bytes: &[u8]) {
        self.register_infallible(Registration {
            media: vec![RegisteredMedia::new(id, content_type, bytes)],
            ..Registration::default()
        });
    }

    fn register_infallible(&self, known: Registration) {
        // Only base64 can fail, and these carry bytes encoded here.
        let _ = self.shared.register(&known);
    }

    /// Stops accepting connections, lets requests in progress finish for
    /// at most [`Config::shutdown_grace`], then drops every connection still
    /// open.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
