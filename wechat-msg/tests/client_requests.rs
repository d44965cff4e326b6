//! What a send looks like to the server: the URL with the client's token,
//! and the `User-Agent`, through a real loopback server.
#![cfg(feature = "client")]

mod client_support;

use client_support::*;
use wechat_msg::Client;
use wechat_msg::client::{BuildError, DEFAULT_USER_AGENT, TokenSource};

const SEND: &str = "/cgi-bin/message/custom/send";

fn client(base_url: &str, token: &str) -> Client {
    builder(base_url)
        .token_source(TokenSource::fixed(token))
        .build()
        .unwrap()
}

#[tokio::test]
async fn clients_on_one_thread_send_their_own_tokens_to_their_own_servers() {
    // A current-thread runtime: every send runs on this thread, which keeps
    // the last URL it made; each client must still send its own token to
    // its own base URL, in any order.
    let (one, two) = (
        serve(|_| async { ok() }).await,
        serve(|_| async { ok() }).await,
    );
    let (a, b, c) = (
        client(&one.base_url(), "TOKEN A"),
        client(&two.base_url(), "TOKEN A"),
        client(&two.base_url(), "TOKEN&B"),
    );
    let message = text_message("OPENID");
    for client in [&a, &a, &b, &a, &c, &b, &c] {
        client.send(&message).await.unwrap();
    }
    let tokens = |fake: &Fake| -> Vec<String> {
        fake.to(SEND)
            .iter()
            .map(|hit| hit.token().unwrap().to_owned())
            .collect()
    };
    assert_eq!(tokens(&one), ["TOKEN A"; 3]);
    assert_eq!(tokens(&two), ["TOKEN A", "TOKEN&B", "TOKEN A", "TOKEN&B"]);
}

#[tokio::test]
async fn the_user_agent_is_the_default_or_the_one_set() {
    let fake = serve(|_| async { ok() }).await;
    let message = text_message("OPENID");
    client(&fake.base_url(), "T").send(&message).await.unwrap();
    builder(&fake.base_url())
        .token_source(TokenSource::fixed("T"))
        .user_agent("my-service/2.1")
        .build()
        .unwrap()
        .send(&message)
        .await
        .unwrap();
    let agents: Vec<_> = fake
        .to(SEND)
        .into_iter()
        .map(|hit| hit.user_agent)
        .collect();
    assert_eq!(
        agents,
        [
            Some(format!("wechat-msg/{}", env!("CARGO_PKG_VERSION"))),
            Some("my-service/2.1".to_owned())
        ]
    );
    assert_eq!(DEFAULT_USER_AGENT, agents[0].as_deref().unwrap());
}

#[test]
fn a_user_agent_that_is_not_a_header_value_is_refused_when_building() {
    let err = Client::builder()
        .token_source(TokenSource::None)
        .user_agent("line\nbreak")
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, BuildError::Http(m) if m.contains("User-Agent")),
        "{err}"
    );
}
