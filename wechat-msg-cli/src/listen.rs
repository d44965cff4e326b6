//! `wechat-msg listen`: a push endpoint on every path, for developers testing
//! what WeChat (or `wechat-msg push`, or the emulator's users) sends.
//!
//! Each accepted push is printed on standard output as one JSON line in
//! WeChat's JSON push form, decrypted; a refused push prints nothing there
//! and its reason on standard error.

use std::net::SocketAddr;

use wechat_msg::Push;
use wechat_msg::push::{PushConfig, PushMessage, PushService, Receiver, RedisDedupe};

use crate::failure::Failure;
use crate::output::{self, Foreign};
use crate::push_keys::safe_mode;
use crate::signal::stop_signal;

/// What `listen` was given.
#[derive(Debug)]
pub struct ListenArgs {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The push Token.
    pub token: String,
    /// The EncodingAESKey (safe and compatible modes).
    pub aes_key: Option<String>,
    /// The appid pushes are sealed for.
    pub appid: Option<String>,
    /// A store shared by several `listen` processes behind one URL.
    pub store: Option<String>,
}

pub async fn run(args: ListenArgs) -> Result<(), Failure> {
    let mut config = PushConfig::new(&args.token).map_err(|e| Failure::invalid(e.to_string()))?;
    if let Some((key, appid)) = safe_mode(&args.aes_key, &args.appid)? {
        config = config
            .encrypted(key, appid)
            .map_err(|e| Failure::invalid(e.to_string()))?;
    }
    let mut receiver = Receiver::new(config);
    if let Some(url) = &args.store {
        // Keyed by appid: one store may serve several apps. Plaintext mode
        // has no appid; its pushes share one namespace.
        let appid = args.appid.as_deref().unwrap_or("plaintext");
        let shared = RedisDedupe::open(url, appid).map_err(|e| {
            Failure::invalid(format!("--store: {e} (expected redis://HOST:PORT/DB)"))
        })?;
        receiver = receiver.dedupe(shared);
    }
    let service = PushService::new(receiver)
        .on_push(|push: Push| async move {
            // What users write may hold bidi overrides and controls:
            // escaped the JSON way, the line stays the same JSON value.
            let _ = output::write_json_line(&push.to_push_form());
        })
        .on_refusal(|refusal| {
            // A refusal may quote the body (a parser's error text).
            let reason = refusal.to_string();
            eprintln!("refused ({}): {}", refusal.status(), Foreign(&reason));
        });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::invalid(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::invalid(format!("cannot read the listening address: {e}")))?;
    eprintln!(
        "listening on http://{addr} ({} mode); pushes print on standard output; Ctrl-C to stop",
        if args.aes_key.is_some() {
            "safe"
        } else {
            "plaintext"
        }
    );
    // Header and body deadlines, a cap on connections, a bounded shutdown.
    wechat_msg::push::serve(listener, service.router::<()>(), stop_signal()).await;
    Ok(())
}
