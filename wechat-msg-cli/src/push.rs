//! `wechat-msg push`: send a push to a developer's server, signed and (with
//! a key) sealed exactly as WeChat does, and print the server's answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wechat_msg::Push;
use wechat_msg::push::body::Encoding;
use wechat_msg::push::{PushMessage, PushSigner};

use crate::failure::Failure;
use crate::input;
use crate::push_keys::safe_mode;

/// What `push` was given.
#[derive(Debug)]
pub struct PushArgs {
    /// The developer's push URL.
    pub url: String,
    /// The push Token.
    pub token: String,
    /// The EncodingAESKey (safe mode).
    pub aes_key: Option<String>,
    /// The appid pushes are sealed for.
    pub appid: Option<String>,
    /// The body's encoding on the wire.
    pub encoding: Encoding,
    /// The push in WeChat's JSON push form; standard input when absent or `-`.
    pub file: Option<String>,
}

pub async fn run(args: PushArgs) -> Result<(), Failure> {
    let mut signer = PushSigner::new(&args.token).map_err(|e| Failure::invalid(e.to_string()))?;
    if let Some((key, appid)) = safe_mode(&args.aes_key, &args.appid)? {
        signer = signer
            .encrypted(key, appid)
            .map_err(|e| Failure::invalid(e.to_string()))?;
    }
    let value = input::read_json(args.file.as_deref())?;
    let serde_json::Value::Object(map) = value else {
        return Err(Failure::invalid("a push is a JSON object"));
    };
    // Checked as the receiver will read it, so a typo is caught here.
    let push = Push::from_push_form(map.clone())
        .map_err(|e| Failure::invalid(format!("invalid push: {e}")))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let nonce = format!(
        "{}",
        now.rem_euclid(1_000_000_007) ^ i64::from(std::process::id())
    );
    let signed = signer.sign(&map, args.encoding, push.xml_wrappers(), now, &nonce);
    let separator = if args.url.contains('?') { '&' } else { '?' };
    let url = format!("{}{separator}{}", args.url, signed.query);
    let content_type = match args.encoding {
        Encoding::Json => "application/json",
        Encoding::Xml => "text/xml",
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Failure::not_sent(format!("cannot build the HTTP client: {e}")))?;
    let answer = http
        .post(&url)
        .header("content-type", content_type)
        .body(signed.body)
        .send()
        .await
        .map_err(|e| {
            Failure::not_sent(format!("no answer from {}: {}", args.url, e.without_url()))
        })?;
    let status = answer.status();
    let body = answer
        .bytes()
        .await
        .map_err(|e| Failure::not_sent(format!("the answer broke off: {}", e.without_url())))?;
    let shown = match signer.open_reply(&body) {
        Some(opened) => opened,
        None => {
            return Err(Failure::answered(format!(
                "HTTP {status}: a sealed reply whose signature or appid does not match"
            )));
        }
    };
    println!("{}", String::from_utf8_lossy(&shown));
    // `success`, an empty body, or a passive reply (transfer to customer
    // service): all accept the push.
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure::answered(format!(
            "the server answered HTTP {status}"
        )))
    }
}
