//! Receiving pushes: the typed pushes generated from the spec, every mode and
//! encoding, every refusal, and the axum service over a real socket.
#![cfg(feature = "push")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use wechat_msg::Push;
use wechat_msg::push::body::Encoding;
use wechat_msg::push::crypto::AesKey;
use wechat_msg::push::{
    PushConfig, PushMessage, PushQuery, PushService, PushSigner, Receiver, Refusal,
};

const TOKEN: &str = "PUSH-TOKEN-29cd1e";
const APPID: &str = "wx0123456789abcdef";

fn key() -> String {
    // A console-style key: 43 alphanumerics, non-zero trailing bits.
    "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aQ".to_owned()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn map(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

fn text_push(msg_id: Value) -> Map<String, Value> {
    map(json!({
        "ToUserName": "gh_0123456789ab", "FromUserName": "OPENID", "CreateTime": now(),
        "MsgType": "text", "Content": "hello <there> ]]> & \u{1F600}", "MsgId": msg_id,
    }))
}

/// Runs a receiver's future to its end (the in-memory store never waits).
trait Now: std::future::Future + Sized {
    fn block(self) -> Self::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(self)
    }
}

impl<F: std::future::Future> Now for F {}

fn plain() -> Receiver {
    Receiver::new(PushConfig::new(TOKEN).unwrap())
}

fn safe() -> Receiver {
    Receiver::new(
        PushConfig::new(TOKEN)
            .unwrap()
            .encrypted(&key(), APPID)
            .unwrap(),
    )
}

fn signer() -> PushSigner {
    PushSigner::new(TOKEN).unwrap()
}

fn sealed_signer() -> PushSigner {
    PushSigner::new(TOKEN)
        .unwrap()
        .encrypted(&key(), APPID)
        .unwrap()
}

fn open(receiver: &Receiver, signed: &wechat_msg::push::SignedPush) -> Result<Push, Refusal> {
    receiver
        .open(&PushQuery::parse(&signed.query).unwrap(), &signed.body)
        .block()
        .map(|r| r.push)
}

#[test]
fn every_push_of_the_docs_parses_in_both_encodings() {
    let cases = [
        json!({"ToUserName":"gh_1","FromUserName":"U","CreateTime":1482048670,"MsgType":"text","Content":"this is a test","MsgId":1234567890123456i64}),
        json!({"ToUserName":"gh_1","FromUserName":"U","CreateTime":1482048670,"MsgType":"image","PicUrl":"http://x/p.png","MediaId":"MEDIA","MsgId":1234567890123456i64}),
        json!({"ToUserName":"gh_1","FromUserName":"U","CreateTime":1482048670,"MsgType":"miniprogrampage","MsgId":1234567890123456i64,"Title":"Title","AppId":"wxAPP","PagePath":"pages/index","ThumbUrl":"http://x/t","ThumbMediaId":"THUMB"}),
        json!({"ToUserName":"gh_1","FromUserName":"U","CreateTime":1482048670,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"sessionFrom"}),
        json!({"ToUserName":"gh_1","FromUserName":"U","CreateTime":"1620973045","MsgType":"event","Event":"subscribe_msg_popup_event","List":{"TemplateId":"T1","SubscribeStatusString":"accept","PopupScene":"0"}}),
        json!({"ToUserName":"gh_1","FromUserName":"U","CreateTime":"1620973045","MsgType":"event","Event":"subscribe_msg_popup_event","List":[{"TemplateId":"T1","SubscribeStatusString":"accept","PopupScene":"0"},{"TemplateId":"T2","SubscribeStatusString":"reject","PopupScene":"0"}]}),
        json!({"ToUserName":"gh_1","FromUserName":"U","CreateTime":1620963428,"MsgType":"event","Event":"subscribe_msg_change_event","List":{"TemplateId":"T1","SubscribeStatusString":"reject"}}),
        json!({"ToUserName":"gh_1","FromUserName":"U","CreateTime":1620963428,"MsgType":"event","Event":"subscribe_msg_sent_event","List":{"TemplateId":"T1","MsgID":"1700827132819554304","ErrorCode":"0","ErrorStatus":"success"}}),
    ];
    for case in cases {
        let push = Push::from_push_form(map(case.clone())).unwrap();
        assert!(!matches!(push, Push::Unknown(_)), "{case}");
        // Written back, it is the same push (numbers as numbers).
        let again = Push::from_push_form(push.to_push_form()).unwrap();
        assert_eq!(again, push);
        // Through XML and back, with the list wrappers.
        for encoding in [Encoding::Json, Encoding::Xml] {
            let body =
                wechat_msg::push::body::write(&push.to_push_form(), encoding, push.xml_wrappers());
            let read = wechat_msg::push::body::read(&body, encoding, Push::XML_WRAPPERS).unwrap();
            assert_eq!(
                Push::from_push_form(read).unwrap(),
                push,
                "{encoding}: {case}"
            );
        }
    }
}

#[test]
fn the_quirks_parse() {
    let one = Push::from_push_form(map(json!({"ToUserName":"gh","FromUserName":"U","CreateTime":"1","MsgType":"event","Event":"subscribe_msg_popup_event","List":{"TemplateId":"T1","SubscribeStatusString":"accept","PopupScene":"2"}}))).unwrap();
    let Push::SubscribeMsgPopup(popup) = one else {
        panic!("{one:?}")
    };
    assert_eq!(popup.list.len(), 1);
    assert_eq!(popup.list[0].popup_scene, Some(2));
    assert_eq!(popup.create_time, 1);
    // A MsgId beyond 2^53, as a number and as a string.
    for id in [json!(9007199254740993i64), json!("9007199254740993")] {
        let Push::Text(text) = Push::from_push_form(text_push(id)).unwrap() else {
            panic!()
        };
        assert_eq!(text.msg_id, 9007199254740993);
    }
    // The XML form of a list of two.
    let xml = br#"<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[U]]></FromUserName><CreateTime>1620963428</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent><List><TemplateId><![CDATA[T1]]></TemplateId><MsgID>1700827132819554304</MsgID><ErrorCode>0</ErrorCode><ErrorStatus><![CDATA[success]]></ErrorStatus></List><List><TemplateId><![CDATA[T2]]></TemplateId><MsgID>1700827132819554305</MsgID><ErrorCode>43101</ErrorCode><ErrorStatus><![CDATA[fail]]></ErrorStatus></List></SubscribeMsgSentEvent></xml>"#;
    let read = wechat_msg::push::body::read(xml, Encoding::Xml, Push::XML_WRAPPERS).unwrap();
    let Push::SubscribeMsgSent(sent) = Push::from_push_form(read).unwrap() else {
        panic!()
    };
    assert_eq!(sent.list[1].error_code, 43101);
    assert_eq!(sent.list[0].msg_id, Some(1700827132819554304));
    // An unknown kind is kept whole; a known kind missing a field is named.
    let unknown = Push::from_push_form(map(json!({"ToUserName":"gh","FromUserName":"U","CreateTime":1,"MsgType":"voice","Recognition":"hi"}))).unwrap();
    let Push::Unknown(raw) = &unknown else {
        panic!()
    };
    assert_eq!(raw.fields()["Recognition"], "hi");
    assert_eq!(unknown.dedupe_key().as_deref(), Some("event:U:1"));
    let err = Push::from_push_form(map(
        json!({"ToUserName":"gh","FromUserName":"U","CreateTime":1,"MsgType":"text","MsgId":1}),
    ))
    .unwrap_err();
    assert_eq!(err.to_string(), "Content: missing");
    let err = Push::from_push_form(map(json!({"ToUserName":"gh","FromUserName":"U","CreateTime":"soon","MsgType":"text","Content":"x","MsgId":1}))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "CreateTime: expected an integer, found a string"
    );
}

#[test]
fn every_mode_and_encoding_is_accepted() {
    let push = text_push(json!(42));
    for encoding in [Encoding::Json, Encoding::Xml] {
        let signed = signer().sign(&push, encoding, &[], now(), "nonce1");
        // Plaintext pushes are accepted by a plaintext endpoint only: with a
        // key configured, the body must be signed (msg_signature).
        let Push::Text(text) = open(&plain(), &signed).unwrap() else {
            panic!()
        };
        assert_eq!(text.content, "hello <there> ]]> & \u{1F600}");
        assert_eq!(open(&safe(), &signed).unwrap_err().status(), 401);
        let sealed = sealed_signer().sign(&push, encoding, &[], now(), "nonce2");
        assert!(!String::from_utf8_lossy(&sealed.body).contains("hello"));
        let received = safe()
            .open(&PushQuery::parse(&sealed.query).unwrap(), &sealed.body)
            .block()
            .unwrap();
        assert!(received.encrypted);
        assert_eq!(received.encoding, encoding);
        let Push::Text(text) = received.push else {
            panic!()
        };
        assert_eq!(text.msg_id, 42);
        // Without a key, a sealed push cannot be opened.
        assert_eq!(open(&plain(), &sealed).unwrap_err(), Refusal::NoKey);
    }
}

#[test]
fn with_a_key_only_pushes_signed_over_encrypt_are_believed() {
    // A plaintext push carrying only `signature` (over the token, timestamp
    // and nonce, not the body): refused, whatever it says.
    let forged_body = text_push(json!(31));
    for encoding in [Encoding::Json, Encoding::Xml] {
        let downgraded = signer().sign(&forged_body, encoding, &[], now(), "d1");
        let refusal = open(&safe(), &downgraded).unwrap_err();
        assert!(matches!(refusal, Refusal::Signature(_)), "{refusal}");
        assert_eq!(refusal.status(), 401);
        // Claiming `encrypt_type=aes` without a msg_signature: refused too.
        let mut claimed = downgraded.clone();
        claimed.query.push_str("&encrypt_type=aes");
        assert!(open(&safe(), &claimed).is_err());
    }
    // Compatible mode: the plaintext fields beside `Encrypt` are not read;
    // the decrypted message is.
    let genuine = text_push(json!(32));
    let sealed = sealed_signer().sign(&genuine, Encoding::Json, &[], now(), "d2");
    let mut outer: Map<String, Value> = serde_json::from_slice(&sealed.body).unwrap();
    for (k, v) in text_push(json!(33)) {
        outer.insert(k, v);
    }
    outer.insert("Content".into(), "forged beside the envelope".into());
    let compatible = wechat_msg::push::SignedPush {
        query: sealed.query.clone(),
        body: serde_json::to_vec(&outer).unwrap(),
    };
    let Push::Text(text) = open(&safe(), &compatible).unwrap() else {
        panic!()
    };
    assert_eq!(text.msg_id, 32);
    assert_eq!(text.content, "hello <there> ]]> & \u{1F600}");
    // The same envelope with its msg_signature dropped and only `signature`
    // left: refused.
    let stripped: String = sealed
        .query
        .split('&')
        .filter(|kv| !kv.starts_with("msg_signature=") && !kv.starts_with("encrypt_type="))
        .collect::<Vec<_>>()
        .join("&");
    let stripped = wechat_msg::push::SignedPush {
        query: stripped,
        body: compatible.body.clone(),
    };
    assert_eq!(open(&safe(), &stripped).unwrap_err().status(), 401);
}

#[test]
fn forged_stale_and_broken_pushes_are_refused() {
    let push = text_push(json!(7));
    let good = sealed_signer().sign(&push, Encoding::Json, &[], now(), "n");
    let forged = PushSigner::new("ANOTHER-TOKEN")
        .unwrap()
        .encrypted(&key(), APPID)
        .unwrap()
        .sign(&push, Encoding::Json, &[], now(), "n");
    assert!(matches!(open(&safe(), &forged), Err(Refusal::Signature(_))));
    assert_eq!(open(&safe(), &forged).unwrap_err().status(), 401);
    let stale = sealed_signer().sign(&push, Encoding::Json, &[], now() - 3600, "n");
    assert_eq!(
        open(&safe(), &stale).unwrap_err(),
        Refusal::Stale(now_or(&stale))
    );
    assert_eq!(open(&safe(), &stale).unwrap_err().status(), 403);
    let other_app = PushSigner::new(TOKEN)
        .unwrap()
        .encrypted(&key(), "wxOTHER")
        .unwrap()
        .sign(&push, Encoding::Xml, &[], now(), "n");
    assert_eq!(open(&safe(), &other_app).unwrap_err(), Refusal::AppId);
    let wrong_key = PushSigner::new(TOKEN)
        .unwrap()
        .encrypted(&"B".repeat(43), APPID)
        .unwrap()
        .sign(&push, Encoding::Json, &[], now(), "n");
    assert_eq!(open(&safe(), &wrong_key).unwrap_err().status(), 400);
    // The body changed after signing: msg_signature no longer holds.
    let mut tampered = good.clone();
    let mut outer: Map<String, Value> = serde_json::from_slice(&tampered.body).unwrap();
    let encrypt = outer["Encrypt"].as_str().unwrap().to_owned();
    outer["Encrypt"] =
        Value::String(encrypt[..encrypt.len() - 24].to_owned() + "AAAAAAAAAAAAAAAAAAAAAA==");
    tampered.body = serde_json::to_vec(&outer).unwrap();
    assert!(matches!(
        open(&safe(), &tampered),
        Err(Refusal::Signature(_))
    ));
    // Plaintext: a signature over another timestamp; no signature at all.
    let plain_signed = signer().sign(&push, Encoding::Json, &[], now(), "n");
    let moved = plain_signed.query.replace("timestamp=", "timestamp=1");
    assert!(
        plain()
            .open(&PushQuery::parse(&moved).unwrap(), &plain_signed.body)
            .block()
            .is_err()
    );
    assert!(matches!(
        plain()
            .open(&PushQuery::default(), &plain_signed.body)
            .block(),
        Err(Refusal::Signature(_))
    ));
    // Malformed bodies are 400s, never panics.
    for body in [
        &b""[..],
        b"hello",
        b"{",
        b"<xml><a>",
        b"[]",
        br#"{"MsgType":"text"}"#,
    ] {
        let signed = signer().sign(&Map::new(), Encoding::Json, &[], now(), "n");
        let refusal = plain()
            .open(&PushQuery::parse(&signed.query).unwrap(), body)
            .block()
            .unwrap_err();
        assert_eq!(refusal.status(), 400, "{refusal}");
    }
    // Nothing secret in any refusal.
    for refusal in [
        open(&safe(), &forged).unwrap_err(),
        open(&safe(), &wrong_key).unwrap_err(),
    ] {
        let shown = format!("{refusal} {refusal:?} {:?}", safe());
        assert!(!shown.contains(TOKEN) && !shown.contains(&key()), "{shown}");
    }
}

fn now_or(signed: &wechat_msg::push::SignedPush) -> i64 {
    PushQuery::parse(&signed.query)
        .unwrap()
        .timestamp
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn retries_are_recognised() {
    let receiver = plain();
    let signed = signer().sign(&text_push(json!(99)), Encoding::Json, &[], now(), "n");
    let query = PushQuery::parse(&signed.query).unwrap();
    assert!(
        !receiver
            .open(&query, &signed.body)
            .block()
            .unwrap()
            .duplicate
    );
    assert!(
        receiver
            .open(&query, &signed.body)
            .block()
            .unwrap()
            .duplicate
    );
    // Events by sender and time.
    let event = map(
        json!({"ToUserName":"gh","FromUserName":"U","CreateTime":now(),"MsgType":"event","Event":"user_enter_tempsession"}),
    );
    // (Another nonce: the same nonce with another body is a forgery.)
    let signed = signer().sign(&event, Encoding::Xml, &[], now(), "n-event");
    let query = PushQuery::parse(&signed.query).unwrap();
    assert!(
        !receiver
            .open(&query, &signed.body)
            .block()
            .unwrap()
            .duplicate
    );
    assert!(
        receiver
            .open(&query, &signed.body)
            .block()
            .unwrap()
            .duplicate
    );
}

#[test]
fn a_seen_signature_carries_only_its_own_body() {
    let receiver = plain();
    let first = signer().sign(&text_push(json!(501)), Encoding::Json, &[], now(), "r1");
    let query = PushQuery::parse(&first.query).unwrap();
    assert!(
        !receiver
            .open(&query, &first.body)
            .block()
            .unwrap()
            .duplicate
    );
    // The same bytes under the same nonce: WeChat's retry, accepted.
    assert!(
        receiver
            .open(&query, &first.body)
            .block()
            .unwrap()
            .duplicate
    );
    // Another body under the captured signature, timestamp and nonce: 401.
    let other = signer().sign(&text_push(json!(502)), Encoding::Json, &[], now(), "r1");
    let refusal = receiver.open(&query, &other.body).block().unwrap_err();
    assert_eq!(refusal, Refusal::Replayed);
    assert_eq!(refusal.status(), 401);
    // Even one byte more.
    let mut padded = first.body.clone();
    padded.push(b' ');
    assert_eq!(
        receiver.open(&query, &padded).block().unwrap_err().status(),
        401
    );
    // Still refused after the genuine one was retried.
    assert!(receiver.open(&query, &first.body).block().is_ok());
    assert!(receiver.open(&query, &other.body).block().is_err());
}

#[test]
fn the_url_check() {
    let query = signer().url_check(now(), "1514711492", "ECHO-123");
    assert_eq!(
        plain()
            .verify_url(&PushQuery::parse(&query).unwrap())
            .unwrap(),
        "ECHO-123"
    );
    let forged = PushSigner::new("OTHER").unwrap().url_check(now(), "1", "x");
    assert!(
        plain()
            .verify_url(&PushQuery::parse(&forged).unwrap())
            .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn sealing_then_opening_gives_the_message_back(
        message in proptest::collection::vec(any::<u8>(), 0..300),
        appid in "[a-z0-9]{0,24}",
        random in any::<[u8; 16]>(),
    ) {
        let key = AesKey::from_encoding_aes_key(&key()).unwrap();
        let opened = key.decrypt(&key.encrypt_with(random, &message, &appid)).unwrap();
        prop_assert_eq!(opened.message, message);
        prop_assert_eq!(opened.appid, appid);
        prop_assert_eq!(opened.random, random);
    }

    #[test]
    fn arbitrary_ciphertext_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        use base64::Engine;
        let key = AesKey::from_encoding_aes_key(&key()).unwrap();
        let _ = key.decrypt(&base64::engine::general_purpose::STANDARD.encode(&bytes));
    }
}

/// The service, mounted in an axum app on a real socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_answers_at_once_and_handles_once() {
    let handled = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let counter = handled.clone();
    let release = Arc::new(tokio::sync::Notify::new());
    let gate = release.clone();
    let service = PushService::new(safe())
        .on_push(move |push: Push| {
            let counter = counter.clone();
            let tx = tx.clone();
            let gate = gate.clone();
            async move {
                // Slow handler work: the answer must not wait for it.
                gate.notified().await;
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(push);
            }
        })
        .transfer_to_customer_service(|push| matches!(push, Push::Image(_)));
    let app = axum::Router::new().nest_service("/wechat/push", service.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = |query: &str| format!("http://{addr}/wechat/push?{query}");

    // URL check.
    let check = sealed_signer().url_check(now(), "123", "ECHO");
    let answer = http.get(url(&check)).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "ECHO");

    // A text push: `success` while the handler is still blocked.
    let signed = sealed_signer().sign(&text_push(json!(5)), Encoding::Json, &[], now(), "n1");
    let answer = http
        .post(url(&signed.query))
        .body(signed.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "success");
    assert_eq!(
        handled.load(Ordering::SeqCst),
        0,
        "answered before the handler finished"
    );
    // WeChat's retry of the same push: `success`, not handled again.
    let answer = http
        .post(url(&signed.query))
        .body(signed.body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "success");
    release.notify_one();
    let Push::Text(text) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .unwrap()
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(text.from_user_name, "OPENID");

    // Forged: 401, never handled.
    let forged = PushSigner::new("NOT-THE-TOKEN").unwrap().sign(
        &text_push(json!(6)),
        Encoding::Json,
        &[],
        now(),
        "n",
    );
    let answer = http
        .post(url(&forged.query))
        .body(forged.body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let body = answer.text().await.unwrap();
    assert!(!body.contains(TOKEN), "{body}");
    // Stale: 403. Malformed: 400.
    let stale = sealed_signer().sign(
        &text_push(json!(8)),
        Encoding::Json,
        &[],
        now() - 10_000,
        "n",
    );
    assert_eq!(
        http.post(url(&stale.query))
            .body(stale.body)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let signed = signer().sign(&Map::new(), Encoding::Json, &[], now(), "n");
    assert_eq!(
        http.post(url(&signed.query))
            .body("<xml><oops>")
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    // An image, sealed, as XML: the passive transfer reply, sealed too.
    let image = map(
        json!({"ToUserName":"gh_0123456789ab","FromUserName":"OPENID","CreateTime":now(),"MsgType":"image","PicUrl":"http://p","MediaId":"M","MsgId":77}),
    );
    let signed = sealed_signer().sign(&image, Encoding::Xml, &[], now(), "n2");
    let answer = http
        .post(url(&signed.query))
        .body(signed.body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let reply = answer.bytes().await.unwrap();
    let opened = sealed_signer()
        .open_reply(&reply)
        .expect("a sealed reply that verifies");
    let reply = wechat_msg::push::body::read(&opened, Encoding::Xml, &[]).unwrap();
    assert_eq!(reply["MsgType"], "transfer_customer_service");
    assert_eq!(reply["ToUserName"], "OPENID");
    assert_eq!(reply["FromUserName"], "gh_0123456789ab");
    release.notify_one();
    let second = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(second, Push::Image(_)));
    assert_eq!(handled.load(Ordering::SeqCst), 2);
}

/// `wechat_msg::push::Server`: stalled heads and slow bodies are cut off,
/// the cap on connections holds, and shutdown is bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_cuts_off_stalled_heads_and_slow_bodies() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = axum::Router::new().nest_service("/wechat/push", PushService::new(plain()).router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        wechat_msg::push::Server::new()
            .header_deadline(Duration::from_millis(500))
            .body_deadline(Duration::from_millis(500))
            .max_connections(64)
            .shutdown_grace(Duration::from_millis(500))
            .serve(listener, app, async {
                let _ = stopped.await;
            }),
    );
    let started = std::time::Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..50 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /wechat/push HTTP/1.1\r\nHo")
            .await
            .unwrap();
        stalled.push(stream);
    }
    for mut stream in stalled {
        let mut buf = Vec::new();
        let read =
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
        assert!(
            read.is_ok(),
            "a stalled head still open after {:?}",
            started.elapsed()
        );
    }
    // A body promised and not sent: 408, and the connection closed.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /wechat/push HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer))
        .await
        .expect("the slow body is cut off")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // A genuine push is still served.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let signed = signer().sign(&text_push(json!(900)), Encoding::Json, &[], now(), "s1");
    let answer = http
        .post(format!("http://{addr}/wechat/push?{}", signed.query))
        .body(signed.body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.text().await.unwrap(), "success");
    // A kept-alive connection that sends nothing more after a request is
    // closed after the header deadline too: idle connections cannot fill
    // the cap.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let signed = signer().sign(&text_push(json!(901)), Encoding::Json, &[], now(), "s2");
    let head = format!(
        "POST /wechat/push?{} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
        signed.query,
        signed.body.len()
    );
    idle.write_all(head.as_bytes()).await.unwrap();
    idle.write_all(&signed.body).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut answer))
        .await
        .expect("an idle kept-alive connection is closed")
        .unwrap();
    assert!(String::from_utf8_lossy(&answer).contains("success"));
    // A connection left open does not hold shutdown past its grace period.
    let _idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("shutdown within the grace period")
        .unwrap();
}

/// Answer after handling: the answer waits for the handler; a failure or a
/// handler past its budget is answered 500 and handled again on retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answering_after_handling_makes_wechat_retry_what_failed() {
    let attempts = Arc::new(std::sync::Mutex::new(
        std::collections::HashMap::<i64, usize>::new(),
    ));
    let handled = Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let (seen, done) = (attempts.clone(), handled.clone());
    let service = PushService::new(plain())
        .try_on_push(move |push: Push| {
            let (seen, done) = (seen.clone(), done.clone());
            async move {
                let Push::Text(text) = push else {
                    return Ok(());
                };
                let attempt = {
                    let mut seen = seen.lock().unwrap();
                    let n = seen.entry(text.msg_id).or_default();
                    *n += 1;
                    *n
                };
                match (text.msg_id, attempt) {
                    (1, 1) => return Err("the database is down"),
                    (2, 1) => tokio::time::sleep(Duration::from_secs(5)).await,
                    (3, 1) => panic!("a bug"),
                    _ => {}
                }
                done.lock().unwrap().push(text.msg_id);
                Ok(())
            }
        })
        .answer_after_handling_within(Duration::from_millis(400));
    let app = axum::Router::new().nest_service("/wechat/push", service.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(wechat_msg::push::serve(
        listener,
        app,
        std::future::pending(),
    ));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let post = |signed: wechat_msg::push::SignedPush| {
        let http = http.clone();
        async move {
            let answer = http
                .post(format!("http://{addr}/wechat/push?{}", signed.query))
                .body(signed.body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    // Handled before the answer.
    let ok = signer().sign(&text_push(json!(0)), Encoding::Json, &[], now(), "a0");
    assert_eq!(post(ok).await, (200, "success".to_owned()));
    assert_eq!(*handled.lock().unwrap(), vec![0]);
    for id in [1, 2, 3] {
        let signed = signer().sign(
            &text_push(json!(id)),
            Encoding::Json,
            &[],
            now(),
            &format!("a{id}"),
        );
        let started = std::time::Instant::now();
        let (status, body) = post(signed.clone()).await;
        assert_eq!(status, 500, "{id}: {body}");
        assert_ne!(body, "success");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{id}: {:?}",
            started.elapsed()
        );
        assert!(!handled.lock().unwrap().contains(&id));
        // WeChat's retry (the same bytes): handled this time.
        assert_eq!(
            post(signed.clone()).await,
            (200, "success".to_owned()),
            "{id}"
        );
        // And a retry after that is a duplicate: not handled again.
        assert_eq!(post(signed).await, (200, "success".to_owned()), "{id}");
        assert_eq!(
            handled.lock().unwrap().iter().filter(|h| **h == id).count(),
            1
        );
        assert_eq!(attempts.lock().unwrap()[&id], 2);
    }
}
