//! Checking and opening a push: signatures, the replay window, the
//! envelope, the appid, the body, deduplication. Independent of any HTTP
//! framework: [`crate::push::service`] puts it behind axum.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::body::{self, Encoding};
use super::crypto::{AesKey, KeyError, PushToken, digest, sign_with, verify};
use super::dedupe::{Dedupe, MemoryDedupe, StoreError};
use super::form::PushMessage;

/// The query string WeChat puts on a push (and on the URL check).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[non_exhaustive]
pub struct PushQuery {
    /// `signature`: over the token, timestamp and nonce.
    pub signature: Option<String>,
    /// `timestamp`, unix seconds.
    pub timestamp: Option<String>,
    /// `nonce`.
    pub nonce: Option<String>,
    /// `echostr`, on the URL check only.
    pub echostr: Option<String>,
    /// `encrypt_type=aes` in compatible and safe modes.
    pub encrypt_type: Option<String>,
    /// `msg_signature`: over the token, timestamp, nonce and `Encrypt`.
    pub msg_signature: Option<String>,
    /// `openid` of the user (safe mode).
    pub openid: Option<String>,
}

impl PushQuery {
    /// Parses a raw query string (`a=1&b=2`, percent-encoded); unknown keys
    /// are ignored.
    pub fn parse(query: &str) -> Result<Self, Refusal> {
        serde_urlencoded::from_str(query).map_err(|e| Refusal::Malformed(format!("query: {e}")))
    }
}

/// How a push endpoint is configured: what the Mini Program's console says.
#[derive(Clone, Debug)]
pub struct PushConfig {
    token: PushToken,
    aes: Option<AesKey>,
    appid: Option<String>,
    max_age: Duration,
    max_body: usize,
}

impl PushConfig {
    /// Plaintext mode: pushes signed with `token`.
    pub fn new(token: &str) -> Result<Self, KeyError> {
        Ok(PushConfig {
            token: PushToken::new(token)?,
            aes: None,
            appid: None,
            max_age: Duration::from_secs(300),
            max_body: 1 << 20,
        })
    }

    /// Compatible or safe mode: pushes are opened with this EncodingAESKey
    /// and must be sealed for `appid`. With a key, every push must carry
    /// `Encrypt` signed with `msg_signature`; a plaintext push signed only
    /// with `signature` is refused (401), and in compatible mode the fields
    /// beside `Encrypt` are ignored in favour of the decrypted message.
    pub fn encrypted(mut self, encoding_aes_key: &str, appid: &str) -> Result<Self, KeyError> {
        self.aes = Some(AesKey::from_encoding_aes_key(encoding_aes_key)?);
        self.appid = Some(appid.to_owned());
        Ok(self)
    }

    /// How far a push's signed timestamp may be from now (5 minutes by
    /// default); older or newer pushes are refused as replays.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// The largest body read (1 MiB by default).
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The largest body read.
    pub fn body_limit(&self) -> usize {
        self.max_body
    }

    /// Whether an EncodingAESKey is configured.
    pub fn is_encrypted(&self) -> bool {
        self.aes.is_some()
    }
}

/// Why a push was refused. Its Display names the reason and never a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// `signature` or `msg_signature` is absent or wrong: not from WeChat.
    #[error("bad signature: {0}")]
    Signature(&'static str),
    /// The signed timestamp is outside the replay window.
    #[error("stale push: timestamp {0} is outside the accepted window")]
    Stale(i64),
    /// Sealed for another Mini Program.
    #[error("the push is sealed for another appid")]
    AppId,
    /// An encrypted push, and no EncodingAESKey configured.
    #[error("an encrypted push, and no EncodingAESKey is configured")]
    NoKey,
    /// The body cannot be read.
    #[error("malformed push: {0}")]
    Malformed(String),
    /// The body is larger than the configured limit.
    #[error("the push body is larger than {0} bytes")]
    TooLarge(usize),
    /// A signature (its timestamp and nonce) seen before with another body:
    /// a captured signature carrying a forged body.
    #[error("bad signature: this timestamp and nonce were seen with another body")]
    Replayed,
    /// The store that remembers pushes and nonces is unreachable; WeChat is
    /// asked to retry.
    #[error("{0}")]
    Unavailable(StoreError),
}

impl Refusal {
    /// The HTTP status to answer: 401 for a bad or replayed signature, 403
    /// for a stale push or another appid, 413 for a body too large, 503 when
    /// the store is unavailable, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Signature(_) | Refusal::Replayed => 401,
            Refusal::Unavailable(_) => 503,
            Refusal::Stale(_) | Refusal::AppId => 403,
            Refusal::TooLarge(_) => 413,
            Refusal::NoKey | Refusal::Malformed(_) => 400,
        }
    }
}

/// A push that passed every check.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Received<P> {
    /// The typed push.
    pub push: P,
    /// Its encoding.
    pub encoding: Encoding,
    /// Whether it came sealed (compatible or safe mode).
    pub encrypted: bool,
    /// Whether it was seen before (a WeChat retry): answer, do not handle.
    pub duplicate: bool,
    /// The key it was deduplicated by ([`PushMessage::dedupe_key`]), to
    /// release when its handling fails.
    pub dedupe_key: Option<String>,
}

/// Checks and opens pushes for one endpoint.
pub struct Receiver<P = crate::Push> {
    config: PushConfig,
    dedupe: Arc<dyn Dedupe>,
    _push: PhantomData<fn() -> P>,
}

impl<P> Clone for Receiver<P> {
    fn clone(&self) -> Self {
        Receiver {
            config: self.config.clone(),
            dedupe: self.dedupe.clone(),
            _push: PhantomData,
        }
    }
}

impl<P> std::fmt::Debug for Receiver<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Receiver<crate::Push> {
    /// A receiver of this crate's pushes ([`crate::Push`]), with in-memory
    /// deduplication.
    pub fn new(config: PushConfig) -> Self {
        Receiver::of(config)
    }
}

impl<P: PushMessage> Receiver<P> {
    /// A receiver of the pushes `P` of another spec (the `Push` of a crate
    /// that invokes `wechat_msg::api!`), with in-memory deduplication.
    pub fn of(config: PushConfig) -> Self {
        Receiver {
            config,
            dedupe: Arc::new(MemoryDedupe::default()),
            _push: PhantomData,
        }
    }

    /// Replaces the deduplication store and nonce memory (one shared by
    /// several instances, say).
    pub fn dedupe(mut self, dedupe: impl Dedupe) -> Self {
        self.dedupe = Arc::new(dedupe);
        self
    }

    /// Replaces the deduplication store and nonce memory with a shared one.
    pub fn shared_dedupe(mut self, dedupe: Arc<dyn Dedupe>) -> Self {
        self.dedupe = dedupe;
        self
    }

    /// The deduplication store and nonce memory.
    pub fn dedupe_store(&self) -> &Arc<dyn Dedupe> {
        &self.dedupe
    }

    /// The configuration.
    pub fn config(&self) -> &PushConfig {
        &self.config
    }

    fn fresh(&self, query: &PushQuery) -> Result<(), Refusal> {
        let stamp = query
            .timestamp
            .as_deref()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .ok_or(Refusal::Signature("no timestamp"))?;
        let age = now_secs().saturating_sub(stamp).unsigned_abs();
        if age > self.config.max_age.as_secs() {
            return Err(Refusal::Stale(stamp));
        }
        Ok(())
    }

    fn signed(&self, query: &PushQuery) -> Result<(), Refusal> {
        let (Some(signature), Some(timestamp), Some(nonce)) =
            (&query.signature, &query.timestamp, &query.nonce)
        else {
            return Err(Refusal::Signature(
                "signature, timestamp and nonce are required",
            ));
        };
        if !verify(&self.config.token, &[timestamp, nonce], signature) {
            return Err(Refusal::Signature("signature does not match the Token"));
        }
        Ok(())
    }

    /// The URL check (`GET ?signature&timestamp&nonce&echostr`): the
    /// `echostr` to answer, when the signature holds.
    pub fn verify_url(&self, query: &PushQuery) -> Result<String, Refusal> {
        self.signed(query)?;
        self.fresh(query)?;
        query
            .echostr
            .clone()
            .ok_or_else(|| Refusal::Malformed("no echostr".to_owned()))
    }

    /// Checks and opens a POSTed push: its signature, its age, (in
    /// plaintext mode) that its nonce was not seen with another body, its
    /// envelope and appid; then whether it was handled before.
    pub async fn open(&self, query: &PushQuery, body: &[u8]) -> Result<Received<P>, Refusal> {
        let mut received = self.check(query, body).await?;
        if let Some(key) = &received.dedupe_key {
            received.duplicate = !self
                .dedupe
                .first_time(key)
                .await
                .map_err(Refusal::Unavailable)?;
        }
        Ok(received)
    }

    /// [`Receiver::open`] without recording the push as seen (`duplicate`
    /// is false): for a caller that deduplicates elsewhere, such as the
    /// durable inbox, which appends once per dedupe key.
    pub async fn check(&self, query: &PushQuery, body: &[u8]) -> Result<Received<P>, Refusal> {
        if body.len() > self.config.max_body {
            return Err(Refusal::TooLarge(self.config.max_body));
        }
        let encoding = Encoding::sniff(body)
            .ok_or_else(|| Refusal::Malformed("neither JSON nor XML".to_owned()))?;
        let encrypted = query.encrypt_type.as_deref() == Some("aes");
        let outer = body::read(body, encoding, P::XML_WRAPPERS)
            .map_err(|e| Refusal::Malformed(e.to_string()))?;
        // With a key configured, only a body signed with msg_signature over
        // its `Encrypt` is believed, in compatible mode too: `signature`
        // alone covers the timestamp and nonce, not the body, so a plaintext
        // push would let whoever saw one push URL forge any body.
        let map = if encrypted || self.config.aes.is_some() {
            self.unseal(query, &outer, encoding)?
        } else {
            self.signed(query)?;
            self.fresh(query)?;
            self.nonce_fits(query, body).await?;
            outer
        };
        let push = P::from_push_form(map).map_err(|e| Refusal::Malformed(e.to_string()))?;
        let dedupe_key = push.dedupe_key();
        Ok(Received {
            push,
            encoding,
            encrypted,
            duplicate: false,
            dedupe_key,
        })
    }

    /// In plaintext mode `signature` covers the timestamp and nonce, not
    /// the body: remember which body each (timestamp, nonce) came with for
    /// the replay window, and refuse another body under one seen before.
    /// The same bytes again are a retry and pass (WeChat does not say
    /// whether a retry reuses its nonce).
    async fn nonce_fits(&self, query: &PushQuery, body: &[u8]) -> Result<(), Refusal> {
        let (Some(timestamp), Some(nonce)) = (&query.timestamp, &query.nonce) else {
            return Err(Refusal::Signature("timestamp and nonce are required"));
        };
        let key = format!("{}:{nonce}", timestamp.trim());
        let digest = digest(body);
        // Timestamps are accepted up to max_age either side of now.
        let keep = self.config.max_age.saturating_mul(2) + Duration::from_secs(1);
        let fits = self
            .dedupe
            .nonce(&key, &digest, keep)
            .await
            .map_err(Refusal::Unavailable)?;
        if fits { Ok(()) } else { Err(Refusal::Replayed) }
    }

    fn unseal(
        &self,
        query: &PushQuery,
        outer: &Map<String, Value>,
        encoding: Encoding,
    ) -> Result<Map<String, Value>, Refusal> {
        let sealed = match body::sealed(outer) {
            Some(sealed) => sealed,
            None if query.encrypt_type.as_deref() == Some("aes") => {
                return Err(Refusal::Malformed(
                    "encrypt_type=aes and no Encrypt".to_owned(),
                ));
            }
            None => {
                return Err(Refusal::Signature(
                    "an EncodingAESKey is configured: the push must be sealed (Encrypt) and signed with msg_signature",
                ));
            }
        };
        let (Some(signature), Some(timestamp), Some(nonce)) =
            (&query.msg_signature, &query.timestamp, &query.nonce)
        else {
            return Err(Refusal::Signature(
                "msg_signature, timestamp and nonce are required",
            ));
        };
        if !verify(
            &self.config.token,
            &[timestamp, nonce, &sealed.encrypt],
            signature,
        ) {
            return Err(Refusal::Signature("msg_signature does not match the Token"));
        }
        self.fresh(query)?;
        let key = self.config.aes.as_ref().ok_or(Refusal::NoKey)?;
        let opened = key
            .decrypt(&sealed.encrypt)
            .map_err(|e| Refusal::Malformed(e.to_string()))?;
        if let Some(appid) = &self.config.appid
            && !bool::from(subtle::ConstantTimeEq::ct_eq(
                opened.appid.as_bytes(),
                appid.as_bytes(),
            ))
        {
            return Err(Refusal::AppId);
        }
        let inner_encoding = Encoding::sniff(&opened.message).unwrap_or(encoding);
        body::read(&opened.message, inner_encoding, P::XML_WRAPPERS)
            .map_err(|e| Refusal::Malformed(format!("inside the envelope: {e}")))
    }

    /// The passive reply handing the conversation to the customer-service
    /// tool (`transfer_customer_service`), in `encoding`, sealed when the
    /// push was. `None` for pushes that are not messages.
    pub fn transfer_reply(&self, received: &Received<P>) -> Option<Vec<u8>> {
        if received.push.is_event() {
            return None;
        }
        let mut reply = Map::new();
        reply.insert("ToUserName".into(), received.push.sender()?.into());
        reply.insert("FromUserName".into(), received.push.recipient()?.into());
        reply.insert("CreateTime".into(), now_secs().into());
        reply.insert("MsgType".into(), "transfer_customer_service".into());
        let plain = body::write(&reply, received.encoding, &[]);
        if !received.encrypted {
            return Some(plain);
        }
        let key = self.config.aes.as_ref()?;
        let appid = self.config.appid.as_deref().unwrap_or_default();
        Some(seal_reply(
            &self.config.token,
            key,
            appid,
            &plain,
            received.encoding,
            now_secs(),
            &fastrand::u32(..).to_string(),
        ))
    }
}

/// An encrypted passive reply: `{Encrypt, MsgSignature, TimeStamp, Nonce}`.
pub fn seal_reply(
    token: &PushToken,
    key: &AesKey,
    appid: &str,
    plain: &[u8],
    encoding: Encoding,
    timestamp: i64,
    nonce: &str,
) -> Vec<u8> {
    let encrypt = key.encrypt(plain, appid);
    let stamp = timestamp.to_string();
    let signature = sign_with(token, &[&stamp, nonce, &encrypt]);
    let mut reply = Map::new();
    reply.insert("Encrypt".into(), encrypt.into());
    reply.insert("MsgSignature".into(), signature.into());
    reply.insert("TimeStamp".into(), timestamp.into());
    reply.insert("Nonce".into(), nonce.into());
    body::write(&reply, encoding, &[])
}
