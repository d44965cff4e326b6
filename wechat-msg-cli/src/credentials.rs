//! Where `send` (and every command that sends) gets its access token:
//! `--token-source stable|classic` and `--token-store redis://HOST:PORT[/DB]`,
//! and the client built from them.

use std::time::Duration;

use clap::{Args, ValueEnum};
use wechat_msg::client::{TokenSource, TokenStore};
use wechat_msg::{Client, Via};

use crate::failure::Failure;
use crate::output::{Foreign, Redactions};

/// Which token endpoint to fetch from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// `POST /cgi-bin/stable_token`: any number of processes can share it.
    #[default]
    Stable,
    /// `GET /cgi-bin/token`: each fetch invalidates the previous token;
    /// share it through `--token-store` when several processes send.
    Classic,
}

/// The token flags, to `#[command(flatten)]` into a command.
#[derive(Clone, Debug, Default, Args)]
pub struct TokenArgs {
    /// The token endpoint: stable (the default) or classic.
    #[arg(long, value_enum, default_value_t = SourceKind::Stable)]
    pub token_source: SourceKind,
    /// Share the token with every other process through Redis
    /// (`redis://HOST:PORT[/DB]`): one fetch for all of them.
    #[arg(long, value_name = "redis://HOST:PORT[/DB]")]
    pub token_store: Option<String>,
}

/// A client for `appid` at `base_url`, sending `via`, with the token the
/// flags ask for. `redactions` learns the secret and the store's URL; a
/// failure is shown with them applied.
pub fn client(
    base_url: String,
    appid: String,
    secret: String,
    via: Via,
    token: &TokenArgs,
    redactions: &mut Redactions,
) -> Result<Client, Failure> {
    redactions.add(&secret);
    let source = match token.token_source {
        SourceKind::Stable => TokenSource::stable(appid, secret),
        SourceKind::Classic => TokenSource::classic(appid, secret),
    };
    let mut builder = Client::builder()
        .base_url(base_url)
        .token_source(source)
        .timeout(Duration::from_secs(30))
        .via(via);
    if let Some(url) = &token.token_store {
        if !url.starts_with("redis://") {
            return Err(Failure::invalid(
                "--token-store: expected redis://HOST:PORT[/DB]",
            ));
        }
        // The URL may carry a password.
        redactions.add(url);
        builder = builder.token_store(TokenStore::redis(url.clone()));
    }
    builder.build().map_err(|e| {
        Failure::invalid(format!(
            "cannot build the client: {}",
            Foreign(&redactions.text(&e.to_string()))
        ))
    })
}
