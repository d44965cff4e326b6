//! Making a push as WeChat makes it: the query string with its signatures
//! and the body, sealed when a key is given. The emulator and
//! `wechat-msg push` use it to test a developer's endpoint.

use serde_json::{Map, Value};

use super::body::{self, Encoding};
use super::crypto::{AesKey, KeyError, PushToken, sign_with};

/// The developer's endpoint as WeChat knows it: its Token and, in safe mode,
/// its EncodingAESKey and the appid pushes are sealed for.
#[derive(Clone, Debug)]
pub struct PushSigner {
    token: PushToken,
    aes: Option<(AesKey, String)>,
}

/// A push ready to POST: append `query` to the URL (after `?`), send `body`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPush {
    /// `signature=...&timestamp=...&nonce=...` (and, sealed,
    /// `encrypt_type=aes&msg_signature=...&openid=...`).
    pub query: String,
    /// The body in the chosen encoding.
    pub body: Vec<u8>,
}

impl PushSigner {
    /// Plaintext mode.
    pub fn new(token: &str) -> Result<Self, KeyError> {
        Ok(PushSigner {
            token: PushToken::new(token)?,
            aes: None,
        })
    }

    /// Safe mode: pushes are sealed with `encoding_aes_key` for `appid`.
    pub fn encrypted(mut self, encoding_aes_key: &str, appid: &str) -> Result<Self, KeyError> {
        self.aes = Some((
            AesKey::from_encoding_aes_key(encoding_aes_key)?,
            appid.to_owned(),
        ));
        Ok(self)
    }

    /// Signs (and seals) `push`, in the JSON push form, as `encoding`, at
    /// `timestamp` with `nonce`. `wrappers` are the (key, XML wrapper) pairs
    /// of the push ([`crate::push::PushMessage::xml_wrappers`]).
    pub fn sign(
        &self,
        push: &Map<String, Value>,
        encoding: Encoding,
        wrappers: &[(&str, &str)],
        timestamp: i64,
        nonce: &str,
    ) -> SignedPush {
        let stamp = timestamp.to_string();
        let signature = sign_with(&self.token, &[&stamp, nonce]);
        let plain = body::write(push, encoding, wrappers);
        let Some((key, appid)) = &self.aes else {
            return SignedPush {
                query: format!(
                    "signature={signature}&timestamp={stamp}&nonce={}",
                    encode(nonce)
                ),
                body: plain,
            };
        };
        let encrypt = key.encrypt(&plain, appid);
        let msg_signature = sign_with(&self.token, &[&stamp, nonce, &encrypt]);
        let mut outer = Map::new();
        if let Some(to) = push.get("ToUserName") {
            outer.insert("ToUserName".into(), to.clone());
        }
        outer.insert("Encrypt".into(), encrypt.into());
        let openid = push
            .get("FromUserName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        SignedPush {
            query: format!(
                "signature={signature}&timestamp={stamp}&nonce={}&openid={}&encrypt_type=aes&msg_signature={msg_signature}",
                encode(nonce),
                encode(openid)
            ),
            body: body::write(&outer, encoding, &[]),
        }
    }

    /// The query of a URL check (`GET`) with `echostr`.
    pub fn url_check(&self, timestamp: i64, nonce: &str, echostr: &str) -> String {
        let stamp = timestamp.to_string();
        let signature = sign_with(&self.token, &[&stamp, nonce]);
        format!(
            "signature={signature}&timestamp={stamp}&nonce={}&echostr={}",
            encode(nonce),
            encode(echostr)
        )
    }

    /// Opens a passive reply from the developer's server: sealed replies
    /// (`Encrypt`, `MsgSignature`, ...) are checked and opened, anything
    /// else (`success`, a plain reply) returned as it is. `None` when a
    /// sealed reply does not verify.
    pub fn open_reply(&self, reply: &[u8]) -> Option<Vec<u8>> {
        let map = Encoding::sniff(reply).and_then(|encoding| body::read(reply, encoding, &[]).ok());
        let Some(sealed) = map.as_ref().and_then(body::sealed) else {
            return Some(reply.to_vec());
        };
        let (key, appid) = self.aes.as_ref()?;
        let map = map?;
        let stamp = map
            .get("TimeStamp")
            .map(|v| v.to_string().trim_matches('"').to_owned())?;
        let nonce = map
            .get("Nonce")
            .map(|v| v.to_string().trim_matches('"').to_owned())?;
        let given = map.get("MsgSignature")?.as_str()?;
        if !super::crypto::verify(&self.token, &[&stamp, &nonce, &sealed.encrypt], given) {
            return None;
        }
        let opened = key.decrypt(&sealed.encrypt).ok()?;
        (opened.appid == *appid).then_some(opened.message)
    }
}

fn encode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
