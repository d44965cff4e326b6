//! Under concurrent load the emulator loses nothing: every accepted message
//! is recorded exactly once, and its counts match what the senders saw.
//! Loopback only; bounded by a timeout so a hang fails instead of stalling.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::Harness;
use serde_json::{Value, json};
use wechat_msg_emulator::{Config, EndpointQuota, Faults, Via};

const SENDERS: usize = 64;
const PER_SENDER: usize = 80;
const BOUND: Duration = Duration::from_secs(120);

/// What one sender saw for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Seen {
    Accepted,
    Busy,
    /// The answer could not be read: the message may or may not have gone.
    Unknown,
    Other(i64),
}

async fn send_one(h: &Harness, token: &str, via: Via, body: &Value) -> Seen {
    let request = match via {
        Via::Http => h
            .http
            .post(h.url(&format!(
                "/cgi-bin/message/custom/send?access_token={token}"
            )))
            .body(body.to_string()),
        _ => h
            .http
            .post(h.url(&format!(
                "/tcb/invokecloudfunction?access_token={token}&env=load&name=relay"
            )))
            .body(json!({"api": "customerServiceMessage.send", "data": body}).to_string()),
    };
    let Ok(response) = request.send().await else {
        return Seen::Unknown;
    };
    let Ok(text) = response.text().await else {
        return Seen::Unknown;
    };
    let Ok(answer) = serde_json::from_str::<Value>(&text) else {
        return Seen::Unknown;
    };
    let code = match via {
        Via::Http => answer["errcode"].as_i64(),
        _ => answer["resp_data"]
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|inner| inner["errCode"].as_i64()),
    };
    match code {
        Some(0) => Seen::Accepted,
        Some(-1) => Seen::Busy,
        Some(code) => Seen::Other(code),
        None => Seen::Unknown,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_concurrent_messages_are_each_recorded_once() {
    let mut config = Config::default();
    config.known.openids = (0..SENDERS).map(|i| format!("USER_{i}")).collect();
    // No per-user limit and every user's window wide open: this test is
    // about losing nothing, not about the conversation's rules.
    config.quotas.endpoints.clear();
    config.conversation.open = config.known.openids.clone();
    config.conversation.message_window_count = u32::MAX;
    config.faults = Faults {
        system_busy: 40,
        truncate: 20,
        ..Faults::none()
    };
    let h = Arc::new(Harness::with(config).await);
    let token = h.token().await;

    let run = async {
        let mut tasks = Vec::new();
        for sender in 0..SENDERS {
            let h = h.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let via = if sender % 2 == 0 {
                    Via::Http
                } else {
                    Via::Cloud
                };
                let mut seen = Vec::with_capacity(PER_SENDER);
                for i in 0..PER_SENDER {
                    let content = format!("sender {sender} message {i}");
                    let body = json!({
                        "touser": format!("USER_{sender}"),
                        "msgtype": "text",
                        "text": {"content": content},
                    });
                    seen.push((content, send_one(&h, &token, via, &body).await));
                }
                seen
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("a sender finished"));
        }
        all
    };
    let seen = tokio::time::timeout(BOUND, run)
        .await
        .expect("the load finished within the bound");
    assert_eq!(seen.len(), SENDERS * PER_SENDER);

    let mut tally: HashMap<Seen, usize> = HashMap::new();
    for (_, s) in &seen {
        *tally.entry(*s).or_insert(0) += 1;
    }
    assert_eq!(tally.get(&Seen::Busy), Some(&40), "{tally:?}");
    assert_eq!(tally.get(&Seen::Unknown), Some(&20), "{tally:?}");
    assert_eq!(tally.len(), 3, "nothing else happened: {tally:?}");

    // Every message recorded exactly once: the accepted ones, and the ones
    // whose answer was truncated (they went through); never a busy one.
    let messages = h.emu.messages();
    let mut recorded: HashMap<String, usize> = HashMap::new();
    for m in &messages {
        let content = m.body["text"]["content"].as_str().unwrap().to_owned();
        *recorded.entry(content).or_insert(0) += 1;
    }
    assert!(
        recorded.values().all(|n| *n == 1),
        "a message was recorded twice"
    );
    for (content, s) in &seen {
        let expected = matches!(s, Seen::Accepted | Seen::Unknown);
        assert_eq!(recorded.contains_key(content), expected, "{content}: {s:?}");
    }
    let went_through = tally[&Seen::Accepted] + tally[&Seen::Unknown];
    assert_eq!(messages.len(), went_through);
    let seqs: Vec<u64> = messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=messages.len() as u64).collect::<Vec<_>>());

    let counters = h.emu.counters();
    assert_eq!(counters.accepted as usize, went_through);
    assert_eq!(counters.calls as usize, SENDERS * PER_SENDER);
    assert_eq!(counters.errors.get(&-1), Some(&40));
    assert_eq!(counters.faults, 60);
    let by_via = |via| messages.iter().filter(|m| m.via == via).count();
    assert_eq!(by_via(Via::Http) + by_via(Via::Cloud), messages.len());
    assert!(by_via(Via::Http) > 0 && by_via(Via::Cloud) > 0);
    println!(
        "load: {} senders x {} messages, {} accepted, {} busy, {} unknown",
        SENDERS,
        PER_SENDER,
        tally[&Seen::Accepted],
        tally[&Seen::Busy],
        tally[&Seen::Unknown]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_senders_never_overrun_a_limit_or_reuse_a_form_id() {
    let mut config = Config::default();
    config.quotas.endpoints.insert(
        "customerServiceMessage.send".into(),
        EndpointQuota::new(None, Some(100)),
    );
    // The quota, not the reply window, is what the senders race for.
    config.conversation.message_window_count = u32::MAX;
    let h = Arc::new(Harness::with(config).await);
    let token = h.token().await;
    let run = async {
        let mut tasks = Vec::new();
        for _ in 0..SENDERS {
            let h = h.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let mut codes = Vec::new();
                for _ in 0..4 {
                    let text =
                        json!({"touser": "OPENID", "msgtype": "text", "text": {"content": "x"}});
                    let answer = h
                        .send_with(&token, "customerServiceMessage.send", &text)
                        .await;
                    codes.push(answer["errcode"].as_i64().unwrap());
                }
                let template =
                    json!({"touser": "OPENID", "template_id": "TEMPLATE_ID", "form_id": "FORMID"});
                let answer = h.send_with(&token, "templateMessage.send", &template).await;
                codes.push(answer["errcode"].as_i64().unwrap());
                codes
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.expect("a sender finished"));
        }
        all
    };
    let codes = tokio::time::timeout(BOUND, run)
        .await
        .expect("within the bound");
    let count = |code| codes.iter().filter(|c| **c == code).count();
    // 256 customer-service sends against a limit of 100; 64 uses of one form_id.
    assert_eq!(count(0), 100 + 1);
    assert_eq!(count(45047), SENDERS * 4 - 100);
    assert_eq!(count(41029), SENDERS - 1);
    assert_eq!(h.emu.messages().len(), 101);
}
