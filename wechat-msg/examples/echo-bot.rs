//! A customer-service bot that answers every text with its echo.
//!
//! Each text is checked with `security.msgSecCheck` first: only a text the
//! check passes is echoed; a risky one (or one to review) gets a fixed
//! sentence instead, and a check that fails is an error of the handler.
//!
//! WeChat pushes the user's message to `/wechat/push`; the bot replies with
//! `customerServiceMessage.send` (the reply window the user opened allows
//! it). It listens on `PUSH_LISTEN` (default `127.0.0.1:3000`). Without
//! `REDIS_URL` it answers each push at once and replies on a task; with
//! `REDIS_URL` (`redis://HOST:PORT/DB`) it appends each push to the durable
//! inbox before answering, shares deduplication with every other instance,
//! and replies from the inbox: any number of instances behind one URL answer
//! every user message once. Against the local emulator:
//!
//! ```sh
//! cargo run -p wechat-msg-cli -- emulator --listen 127.0.0.1:8080   # note its appid and secret
//! WECHAT_BASE_URL=http://127.0.0.1:8080 WECHAT_APPID=... WECHAT_SECRET=... PUSH_TOKEN=echo-token \
//!     cargo run -p wechat-msg --features push,redis --example echo-bot
//! curl -X PUT http://127.0.0.1:8080/_emulator/push \
//!     -d '{"url":"http://127.0.0.1:3000/wechat/push","token":"echo-token","encoding":"json"}'
//! curl -X POST http://127.0.0.1:8080/_emulator/users/OPENID/messages -d '{"MsgType":"text","Content":"hi"}'
//! curl http://127.0.0.1:8080/_emulator/messages   # the bot's "echo: hi"
//! ```

use wechat_msg::Client;
use wechat_msg::push::{PushConfig, PushService, Receiver};
use wechat_msg::{CustomerServiceMessage, MsgSecCheck, Push, SecCheckSuggest, Text};

/// What a text the content check does not pass gets instead of its echo.
const NOT_ECHOED: &str = "Sorry, I can't repeat that message.";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let appid = env("WECHAT_APPID")?;
    let client = Client::builder()
        .base_url(env("WECHAT_BASE_URL").unwrap_or_else(|_| "https://api.weixin.qq.com".into()))
        .credentials(appid.clone(), env("WECHAT_SECRET")?)
        .build()?;
    let mut config = PushConfig::new(&env("PUSH_TOKEN")?)?;
    if let Ok(key) = env("PUSH_AES_KEY") {
        config = config.encrypted(&key, &appid)?; // safe mode
    }
    let receiver = Receiver::new(config);
    let redis_url = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty());
    #[cfg(feature = "redis")]
    let receiver = match &redis_url {
        Some(url) => receiver.dedupe(wechat_msg::push::RedisDedupe::open(url, &appid)?),
        None => receiver,
    };

    let pushes = PushService::new(receiver).try_on_push(move |push: Push| {
        let client = client.clone();
        async move {
            let Push::Text(text) = push else {
                return Ok(());
            };
            // Scene 2 (comment): the user's text shown back to them.
            let check = MsgSecCheck::builder()
                .content(text.content.clone())
                .version(2)
                .scene(2)
                .openid(text.from_user_name.clone())
                .build();
            let answer = match client.send(&check).await {
                Ok(verdict) if verdict.result.suggest == SecCheckSuggest::Pass => {
                    format!("echo: {}", text.content)
                }
                Ok(_) => NOT_ECHOED.to_owned(),
                // Not checked is not passed: handled again later (the
                // inbox retries a handler's error), never echoed unchecked.
                Err(err) => return Err(format!("content check failed: {err}")),
            };
            let reply = CustomerServiceMessage::builder()
                .touser(text.from_user_name)
                .body(Text::builder().content(answer).build())
                .build();
            match client.send(&reply).await {
                Ok(_) => Ok(()),
                // It may have gone through: sending again could echo twice.
                Err(err) if err.is_delivery_unknown() => {
                    eprintln!("reply of unknown delivery, not retried: {err}");
                    Ok(())
                }
                Err(err) => Err(format!("reply failed: {err}")),
            }
        }
    });
    #[cfg(feature = "redis")]
    let pushes = match &redis_url {
        Some(url) => {
            let pushes = pushes.durable(wechat_msg::push::Inbox::open(url)?);
            tokio::spawn(pushes.handle_inbox(std::future::pending()));
            pushes
        }
        None => pushes,
    };
    #[cfg(not(feature = "redis"))]
    if redis_url.is_some() {
        return Err("REDIS_URL needs the `redis` feature".into());
    }

    let app = axum::Router::new().nest_service("/wechat/push", pushes.router());
    let addr = std::env::var("PUSH_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "echo-bot: pushes at http://{}/wechat/push{}",
        listener.local_addr()?,
        if redis_url.is_some() {
            " (durable inbox on Redis)"
        } else {
            ""
        }
    );
    // Header and body deadlines, a cap on connections, a bounded shutdown.
    wechat_msg::push::serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
