//! Where and how the commands that call WeChat send: the target flags
//! (`--via`, `--base-url`, `--appid`, `--secret`, `--cloud-env`,
//! `--cloud-function` and the token flags), the environment that fills in
//! what they leave out, and the client they describe.

use wechat_msg::client::CloudFunction;
use wechat_msg::{Client, Form, Via as ClientVia};
use wechat_msg_emulator::{Config, Emulator};

use crate::credentials::{self, TokenArgs};
use crate::emulated::starting_state;
use crate::failure::Failure;
use crate::input;
use crate::output::{Foreign, Redactions};

/// Where and how `send`, `send-batch`, `templates pull`, `rid` and `quota`
/// send.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// How to send: the HTTPS API, or a cloud call through the relay function.
    #[arg(long, default_value = "http", value_parser = input::parse_form)]
    pub via: Form,
    /// Where WeChat is (an emulator's base URL, say); WeChat's by default.
    #[arg(long)]
    pub base_url: Option<String>,
    /// The AppID; WECHAT_APPID when absent.
    #[arg(long)]
    pub appid: Option<String>,
    /// The AppSecret; WECHAT_SECRET when absent.
    #[arg(long)]
    pub secret: Option<String>,
    /// The relay function's cloud environment (`--via cloud`); WECHAT_CLOUD_ENV when absent.
    #[arg(long)]
    pub cloud_env: Option<String>,
    /// The relay function's name (`--via cloud`); WECHAT_CLOUD_FUNCTION, else `wechat-msg-relay`.
    #[arg(long)]
    pub cloud_function: Option<String>,
    #[command(flatten)]
    pub token: TokenArgs,
}

impl TargetArgs {
    /// The target, with the environment filling in what the flags leave out.
    pub fn into_target(self) -> Target {
        Target {
            via: self.via,
            base_url: self.base_url,
            appid: self.appid.or_else(|| env_var("WECHAT_APPID")),
            secret: self.secret.or_else(|| env_var("WECHAT_SECRET")),
            cloud_env: self.cloud_env.or_else(|| env_var("WECHAT_CLOUD_ENV")),
            cloud_function: self
                .cloud_function
                .or_else(|| env_var("WECHAT_CLOUD_FUNCTION"))
                .unwrap_or_else(|| "wechat-msg-relay".to_owned()),
            token: self.token,
        }
    }
}

/// A variable of the environment, unset when empty.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The cloud environment used against the embedded emulator, which accepts any.
const EMBEDDED_ENV: &str = "emulator";

/// Where and how to send: the flags of [`TargetArgs`], the environment
/// filling in what they leave out.
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
