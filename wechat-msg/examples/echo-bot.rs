//! A customer-service bot that answers every text with its echo.
//!
//! WeChat pushes the user's message to `/wechat/push`; the bot answers the
//! push at once and replies with `customerServiceMessage.send` (the reply
//! window the user opened allows it). Against the local emulator:
//!
//! ```sh
//! cargo run -p wechat-msg-cli -- emulator --listen 127.0.0.1:8080   # note its appid and secret
//! WECHAT_BASE_URL=http://127.0.0.1:8080 WECHAT_APPID=... WECHAT_SECRET=... PUSH_TOKEN=echo-token \
//!     cargo run -p wechat-msg --features push --example echo-bot
//! curl -X PUT http://127.0.0.1:8080/_emulator/push \
//!     -d '{"url":"http://127.0.0.1:3000/wechat/push","token":"echo-token","encoding":"json"}'
//! curl -X POST http://127.0.0.1:8080/_emulator/users/OPENID/messages -d '{"MsgType":"text","Content":"hi"}'
//! curl http://127.0.0.1:8080/_emulator/messages   # the bot's "echo: hi"
//! ```

use wechat_msg::client::Client;
use wechat_msg::push::{PushConfig, PushService, Receiver};
use wechat_msg::{CustomerServiceMessage, Push, Text};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |name: &str| std::env::var(name).map_err(|_| format!("set {name}"));
    let client = Client::builder()
        .base_url(env("WECHAT_BASE_URL").unwrap_or_else(|_| "https://api.weixin.qq.com".into()))
        .credentials(env("WECHAT_APPID")?, env("WECHAT_SECRET")?)
        .build()?;
    let mut config = PushConfig::new(&env("PUSH_TOKEN")?)?;
    if let (Ok(key), Ok(appid)) = (env("PUSH_AES_KEY"), env("WECHAT_APPID")) {
        config = config.encrypted(&key, &appid)?; // safe mode
    }

    let pushes = PushService::new(Receiver::new(config)).on_push(move |push: Push| {
        let client = client.clone();
        async move {
            let Push::Text(text) = push else { return };
            let reply = CustomerServiceMessage::builder()
                .touser(text.from_user_name)
                .body(
                    Text::builder()
                        .content(format!("echo: {}", text.content))
                        .build(),
                )
                .build();
            if let Err(err) = client.send(&reply).await {
                eprintln!("reply failed: {err}");
            }
        }
    });

    let app = axum::Router::new().nest_service("/wechat/push", pushes.router());
    let addr = std::env::var("PUSH_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!(
        "echo-bot: pushes at http://{}/wechat/push",
        listener.local_addr()?
    );
    // Header and body deadlines, a cap on connections, a bounded shutdown.
    wechat_msg::push::serve(listener, app, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
