//! `wechat-msg send`: validate a body like `render`, then send it with the
//! client, to WeChat or to an emulator.

use wechat_msg::Form;
use wechat_msg::client::{Client, CloudFunction, Delivery, ErrorKind, Via as ClientVia};
use wechat_msg_emulator::{Config, Emulator};

use crate::credentials::{self, TokenArgs};
use crate::output::{self, Foreign, Redactions};
use crate::{Failure, input};

/// How `send` was asked to send.
#[derive(Debug)]
pub struct SendArgs {
    /// The endpoint's cloud-call name.
    pub api: String,
    /// The form of the input.
    pub from: Form,
    /// The body; standard input when absent or `-`.
    pub file: Option<String>,
    /// Where and how to send.
    pub target: Target,
}

/// The cloud environment used against the embedded emulator, which accepts any.
const EMBEDDED_ENV: &str = "emulator";

pub async fn run(args: SendArgs) -> Result<(), Failure> {
    let info = input::endpoint(&args.api)?;
    let body = input::read_json(args.file.as_deref())?;
    (info.convert)(&body, args.from, args.from).map_err(|e| {
        Failure::invalid(format!(
            "invalid {} request ({} form): {}",
            args.api,
            args.from,
            Foreign(&e.to_string())
        ))
    })?;

    let Connected {
        client,
        via,
        embedded,
        mut redactions,
    } = connect(args.target).await?;

    let result = client.send_value(info, &body, args.from, &via).await;
    drop(body);
    let result = match result {
        Ok(mut answer) => {
            // A success may echo the token the call used: it is cached now,
            // so asking for it costs no request.
            if let Ok(Some(token)) = client.access_token().await {
                redactions.add(token.expose());
            }
            redactions.json(&mut answer);
            Ok(answer)
        }
        Err(err) => Err(failure_of(&err, &redactions)),
    };
    if let Some(emulator) = embedded {
        emulator.shutdown().await;
    }
    output::write_json(&result?)
        .map_err(|e| Failure::invalid(format!("cannot write to standard output: {e}")))
}

/// Where and how to send: the part of `send`'s arguments that `send-batch`
/// shares.
#[derive(Debug)]
pub struct Target {
    /// The transport.
    pub via: Form,
    /// Where WeChat (or an emulator) is.
    pub base_url: Option<String>,
    /// The AppID, from `--appid` or `WECHAT_APPID`.
    pub appid: Option<String>,
    /// The AppSecret, from `--secret` or `WECHAT_SECRET`.
    pub secret: Option<String>,
    /// The cloud environment of the relay function (`--via cloud`).
    pub cloud_env: Option<String>,
    /// The relay function's name (`--via cloud`).
    pub cloud_function: String,
    /// The token source and store (`--token-source`, `--token-store`).
    pub token: TokenArgs,
}

/// A client ready to send, and what goes with it.
#[derive(Debug)]
pub struct Connected {
    /// The client.
    pub client: Client,
    /// How it sends.
    pub via: ClientVia,
    /// The emulator started in this process, when there were no credentials
    /// and no base URL; shut it down when done.
    pub embedded: Option<Emulator>,
    /// The secrets to keep out of what is printed.
    pub redactions: Redactions,
}

/// The client `target` describes: WeChat (or `--base-url`) with the
/// credentials, or, with neither, an emulator started in this process.
pub async fn connect(target: Target) -> Result<Connected, Failure> {
    let (appid, secret) = match (target.appid, target.secret) {
        (Some(appid), Some(secret)) => (Some(appid), Some(secret)),
        (None, None) => (None, None),
        (Some(_), None) => {
            return Err(Failure::invalid(
                "an AppID without its secret: set WECHAT_SECRET or --secret",
            ));
        }
        (None, Some(_)) => {
            return Err(Failure::invalid(
                "a secret without its AppID: set WECHAT_APPID or --appid",
            ));
        }
    };
    // Without credentials and without a base URL, send to an emulator here.
    let mut embedded = None;
    let (base_url, appid, secret) = match (target.base_url, appid, secret) {
        (base_url, Some(appid), Some(secret)) => (
            base_url.unwrap_or_else(|| wechat_msg::client::DEFAULT_BASE_URL.to_owned()),
            appid,
            secret,
        ),
        (None, _, _) => {
            let emulator = Emulator::start(Config::default()).await.map_err(|e| {
                Failure::invalid(format!(
                    "cannot start the embedded emulator: {}",
                    Foreign(&e.to_string())
                ))
            })?;
            eprintln!(
                "no credentials (WECHAT_APPID, WECHAT_SECRET) and no --base-url: \
                 sending to an embedded emulator at {}{}",
                emulator.base_url(),
                starting_state(&emulator)
            );
            let app = emulator.app().clone();
            let url = emulator.base_url();
            embedded = Some(emulator);
            (url, app.appid, app.secret)
        }
        (Some(_), _, _) => {
            return Err(Failure::invalid(
                "--base-url needs credentials: set WECHAT_APPID and WECHAT_SECRET (or --appid and --secret)",
            ));
        }
    };
    let via = match target.via {
        Form::Http => ClientVia::Http,
        Form::Cloud => {
            let env = match (target.cloud_env, &embedded) {
                (Some(env), _) => env,
                (None, Some(_)) => EMBEDDED_ENV.to_owned(),
                (None, None) => {
                    return Err(Failure::invalid(
                        "--via cloud needs the relay's environment: set WECHAT_CLOUD_ENV or --cloud-env",
                    ));
                }
            };
            ClientVia::Cloud(CloudFunction::new(env, target.cloud_function))
        }
    };
    let mut redactions = Redactions::default();
    let client = credentials::client(
        base_url,
        appid,
        secret,
        via.clone(),
        &target.token,
        &mut redactions,
    )?;

    Ok(Connected {
        client,
        via,
        embedded,
        redactions,
    })
}

/// The exit code and message of a failed send: 1 when WeChat answered an
/// errcode, 2 for a request the spec rejects, 3 when the message was not
/// sent or its delivery is unknown.
///
/// WeChat's texts are shown once each, escaped, cut and scrubbed of the
/// secrets in `redactions`.
pub fn failure_of(err: &wechat_msg::client::Error, redactions: &Redactions) -> Failure {
    let shown = redactions.text(&err.to_string());
    let shown = Foreign(&shown).to_string();
    if let Some(rejection) = err.rejection() {
        let errmsg = redactions.text(&rejection.errmsg);
        let mut detail = format!(
            "{} (via {}): WeChat answered {}",
            err.endpoint(),
            err.via(),
            rejection.errcode
        );
        if err.attempts() > 1 {
            detail.push_str(&format!(" (after {} attempts)", err.attempts()));
        }
        return Failure::new(
            1,
            vec![
                format!(
                    "errcode {}: {}",
                    wechat_msg::Errcode::code(&rejection.errcode),
                    Foreign(&errmsg)
                ),
                detail,
            ],
        );
    }
    match err.kind() {
        ErrorKind::InvalidRequest(_) => Failure::invalid(shown),
        ErrorKind::Token(token) if token.errcode().is_some() => {
            let code = token.errcode().map_or(0, wechat_msg::Errcode::code);
            Failure::new(
                1,
                vec![format!("errcode {code} (token endpoint): not sent"), shown],
            )
        }
        _ => {
            let which = match err.delivery() {
                Delivery::Unknown => {
                    "delivery unknown (the message may have been delivered; do not resend blindly)"
                }
                Delivery::NotSent => "not sent",
                _ => "answered, but the answer could not be read",
            };
            Failure::new(3, vec![which.to_owned(), shown])
        }
    }
}

/// `; OPENID has an open reply window (...); OPENID is subscribed to
/// TEMPLATE_ID (long-term)`: what the emulator grants at the start.
/// Customer-service messages to anyone else answer 45015 until they write,
/// and subscribe messages 43101 until they subscribe.
pub fn starting_state(emulator: &Emulator) -> String {
    let config = emulator.config();
    let conversation = &config.conversation;
    let mut out = String::new();
    if !conversation.open.is_empty() {
        out.push_str(&format!(
            "; {} {} an open reply window ({} messages within {} h, as if the user had just written)",
            conversation.open.join(", "),
            if conversation.open.len() == 1 {
                "has"
            } else {
                "have"
            },
            conversation.message_window_count,
            conversation.message_window.as_secs() / 3600
        ));
    }
    for grant in &config.subscriptions.granted {
        let held = emulator
            .subscriptions(&grant.openid)
            .into_iter()
            .any(|s| s.template_id == grant.template_id);
        if held {
            out.push_str(&format!(
                "; {} is subscribed to {} ({})",
                grant.openid,
                grant.template_id,
                match grant.times {
                    Some(n) => format!("{n} one-time"),
                    None => "long-term".to_owned(),
                }
            ));
        }
    }
    out
}
