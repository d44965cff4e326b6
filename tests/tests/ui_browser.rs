//! The emulator's web UI in a real headless Chromium, driven through
//! WebDriver (Debian's `chromium` and `chromium-driver`; `.ci/run` installs
//! them): a user types in "Message", the push reaches a real receiver, the
//! receiver's reply appears in "Conversation"; a subscription made in the
//! page, then a subscribe message sent by the client, shows as a card; a
//! reply to a user who never wrote shows 45015; state changed through the
//! control API shows without a reload. Screenshots of the chat and the
//! panels go to `wechat-msg-emulator/docs/`. A second test opens the page on
//! 1,000 users and 10,000 messages.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client as Browser, Locator};
use serde_json::{Value, json};
use wechat_msg::Client;
use wechat_msg::push::{PushConfig, PushService, Receiver};
use wechat_msg::{CustomerServiceMessage, Form, Push, Text};
use wechat_msg_emulator::{Config, Emulator, PushTarget};
use wechat_msg_tests::browser::Driver;

fn client_of(emu: &Emulator) -> Client {
    Client::builder()
        .base_url(emu.base_url())
        .credentials(emu.app().appid.clone(), emu.app().secret.clone())
        .build()
        .unwrap()
}

/// A real push receiver on loopback that answers every text with
/// `echo: TEXT` through the client. Its URL.
async fn echo_receiver(client: Client) -> String {
    let pushes = PushService::new(Receiver::new(PushConfig::new("ui-token").unwrap())).on_push(
        move |push: Push| {
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
                let _ = client.send(&reply).await;
            }
        },
    );
    let app = axum::Router::new().nest_service("/push", pushes.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Waits until the text of the element at `css` satisfies `ok`, within
/// `within`; its text.
async fn wait_text(
    browser: &Browser,
    css: &str,
    within: Duration,
    ok: impl Fn(&str) -> bool,
) -> String {
    let started = Instant::now();
    let mut last = String::new();
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await {
            last = element.text().await.unwrap_or_default();
            if ok(&last) {
                return last;
            }
        }
        assert!(
            started.elapsed() < within,
            "{css} did not show what was expected within {within:?}; it shows: {last}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn click_button(browser: &Browser, name: &str) {
    browser
        .find(Locator::XPath(&format!(
            "//button[normalize-space()='{name}']"
        )))
        .await
        .unwrap_or_else(|e| panic!("no button {name}: {e}"))
        .click()
        .await
        .unwrap();
}

fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../wechat-msg-emulator/docs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_played_in_the_browser_talks_to_a_real_receiver() {
    let mut config = Config::default();
    config.known.openids.push("ALICE".into());
    let emu = Emulator::start(config).await.unwrap();
    let client = client_of(&emu);
    let url = echo_receiver(client.clone()).await;
    let target: PushTarget =
        serde_json::from_value(json!({"url": url, "token": "ui-token", "encoding": "json"}))
            .unwrap();
    emu.set_push(Some(target)).unwrap();

    let driver = Driver::start();
    let browser = driver.browser().await;
    browser
        .goto(&format!("{}/_emulator/ui/?user=ALICE", emu.base_url()))
        .await
        .unwrap();
    wait_text(
        &browser,
        "[aria-label='Connection']",
        Duration::from_secs(10),
        |t| t == "live",
    )
    .await;
    wait_text(&browser, "h2#chat-title", Duration::from_secs(10), |t| {
        t == "ALICE"
    })
    .await;
    // ALICE never wrote: no window yet.
    wait_text(
        &browser,
        "[aria-label='Reply window']",
        Duration::from_secs(5),
        |t| t.contains("closed"),
    )
    .await;

    // Typed as the user: pushed to the receiver, which replies.
    let message = browser
        .find(Locator::Css("[aria-label='Message']"))
        .await
        .unwrap();
    message.send_keys("hello from the page").await.unwrap();
    click_button(&browser, "Send").await;
    let conversation = wait_text(
        &browser,
        "[aria-label='Conversation']",
        Duration::from_secs(15),
        |t| t.contains("echo: hello from the page"),
    )
    .await;
    assert!(
        conversation.contains("hello from the page\ndelivered"),
        "{conversation}"
    );
    wait_text(
        &browser,
        "[aria-label='Reply window']",
        Duration::from_secs(5),
        |t| t.contains("4 replies left"),
    )
    .await;
    // Markup a user writes is shown as text, never run or drawn.
    let hostile = "<img src=x onerror=\"document.title='owned'\"><b>bold</b>\u{202e}";
    emu.user_acts("ALICE", json!({"MsgType": "text", "Content": hostile}))
        .await
        .unwrap();
    wait_text(
        &browser,
        "[aria-label='Conversation']",
        Duration::from_secs(10),
        |t| t.contains("echo: <img src=x"),
    )
    .await;
    let drawn = browser
        .find_all(Locator::Css(
            "[aria-label='Conversation'] img, [aria-label='Conversation'] b",
        ))
        .await
        .unwrap();
    assert!(drawn.is_empty(), "markup from a user was drawn");
    assert_ne!(browser.title().await.unwrap(), "owned");

    // Subscribed in the page, then a subscribe message from the client: a card.
    let template = browser
        .find(Locator::Css("[aria-label='Template']"))
        .await
        .unwrap();
    template.select_by_value("TEMPLATE_ID").await.unwrap();
    click_button(&browser, "Subscribe long-term").await;
    wait_text(
        &browser,
        "[aria-label='Subscriptions']",
        Duration::from_secs(5),
        |t| t.contains("TEMPLATE_ID (long-term"),
    )
    .await;
    let info = wechat_msg::meta::endpoint("subscribeMessage.send").unwrap();
    let body = json!({"touser": "ALICE", "template_id": "TEMPLATE_ID", "data": {
        "thing1": {"value": "Weekly sync"}, "time2": {"value": "15:01"},
        "date3": {"value": "2019年10月1日"}, "character_string4": {"value": "A-1024"},
        "phrase5": {"value": "待开始"}}});
    client
        .send_value(info, &body, Form::Http, &wechat_msg::Via::Http)
        .await
        .expect("the subscribe message is accepted");
    let card = wait_text(
        &browser,
        "[aria-label='Subscribe message']",
        Duration::from_secs(5),
        |t| t.contains("Weekly sync"),
    )
    .await;
    assert!(card.starts_with("会议提醒"), "{card}");
    assert!(
        card.contains("会议名称\nWeekly sync\n会议时间\n15:01"),
        "{card}"
    );
    assert!(card.contains("会议状态\n待开始"), "{card}");

    browser
        .screenshot()
        .await
        .map(|png| {
            std::fs::create_dir_all(docs_dir()).unwrap();
            std::fs::write(docs_dir().join("ui-chat.png"), png).unwrap();
        })
        .unwrap();

    // A user added in the page who never wrote: the client's reply is
    // refused with 45015, and the page shows it in the conversation.
    let new_user = browser.find(Locator::Css("#new-user")).await.unwrap();
    new_user.send_keys("BOB").await.unwrap();
    click_button(&browser, "Add user").await;
    wait_text(&browser, "h2#chat-title", Duration::from_secs(5), |t| {
        t == "BOB"
    })
    .await;
    let reply = CustomerServiceMessage::builder()
        .touser("BOB")
        .body(Text::builder().content("are you there?").build())
        .build();
    let refused = client.send(&reply).await.unwrap_err();
    assert_eq!(refused.errcode().map(|e| e.code()), Some(45015));
    let conversation = wait_text(
        &browser,
        "[aria-label='Conversation']",
        Duration::from_secs(5),
        |t| t.contains("45015"),
    )
    .await;
    assert!(
        conversation
            .contains("customerServiceMessage.send refused: 45015 response out of time limit"),
        "{conversation}"
    );

    // State changed through the control API shows without a reload.
    let http = reqwest::Client::new();
    let answer = http
        .put(format!("{}/_emulator/faults", emu.base_url()))
        .body(r#"{"system_busy": 7}"#)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let changed = Instant::now();
    browser
        .find(Locator::XPath("//summary[normalize-space()='Faults']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let faults = browser
        .find(Locator::Css("[aria-label='Faults']"))
        .await
        .unwrap();
    loop {
        let text = browser
            .execute("return document.getElementById('faults').value", vec![])
            .await
            .unwrap();
        let text = text.as_str().unwrap_or_default().to_owned();
        if text.contains("\"system_busy\": 7") {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "the faults panel did not follow within a second: {text}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Bad input from the page gets the control API's own error.
    // Select all (Ctrl+A, then release) and type over it, as a person would.
    faults
        .send_keys("\u{e009}a\u{e000}{\"system_busy\": -1}")
        .await
        .unwrap();
    click_button(&browser, "Set faults").await;
    let status = wait_text(
        &browser,
        "[aria-label='Status']",
        Duration::from_secs(5),
        |t| !t.is_empty(),
    )
    .await;
    let direct: Value = http
        .put(format!("{}/_emulator/faults", emu.base_url()))
        .body(r#"{"system_busy": -1}"#)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .map(|b| serde_json::from_slice(&b).unwrap())
        .unwrap();
    let error = direct["error"].as_str().unwrap();
    assert_eq!(status, format!("PUT /_emulator/faults: {error}"));
    for name in ["Templates", "Tokens", "Clock"] {
        browser
            .find(Locator::XPath(&format!(
                "//summary[normalize-space()='{name}']"
            )))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    let panels = browser
        .find(Locator::Css("[aria-label='Panels']"))
        .await
        .unwrap();
    let png = panels.screenshot().await.unwrap();
    std::fs::write(docs_dir().join("ui-panels.png"), png).unwrap();

    // Neither the secret nor a token is ever on the page.
    let calls = wait_text(
        &browser,
        "[aria-label='Calls']",
        Duration::from_secs(5),
        |t| t.contains("/cgi-bin/stable_token"),
    )
    .await;
    assert!(!calls.is_empty());
    for summary in browser
        .find_all(Locator::Css("[aria-label='Calls'] summary"))
        .await
        .unwrap()
    {
        summary.click().await.unwrap();
    }
    let source = browser.source().await.unwrap();
    let token = client.access_token().await.unwrap().unwrap();
    assert!(source.contains("access_token"), "the calls are shown");
    assert!(!source.contains(token.expose()), "a token is on the page");
    assert!(
        !source.contains(&emu.app().secret),
        "the secret is on the page"
    );

    browser.close().await.unwrap();
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_opens_quickly_on_a_thousand_users_and_ten_thousand_messages() {
    let mut config = Config::default();
    config.known.openids = (0..1000).map(|i| format!("USER_{i:04}")).collect();
    config.conversation.message_window_count = 100_000;
    let emu = Emulator::start(config).await.unwrap();
    for i in 0..10_000 {
        let openid = format!("USER_{:04}", i % 1000);
        let push = json!({"MsgType": "text", "Content": format!("message {i}")});
        emu.user_acts(&openid, push).await.unwrap();
    }

    let driver = Driver::start();
    let browser = driver.browser().await;
    let started = Instant::now();
    browser
        .goto(&format!("{}/_emulator/ui/?user=USER_0999", emu.base_url()))
        .await
        .unwrap();
    let count = wait_text(&browser, "#user-count", Duration::from_secs(20), |t| {
        t == "1001 users"
    })
    .await;
    // The built-in OPENID, subscribed by default, is the 1,001st.
    assert_eq!(count, "1001 users");
    wait_text(
        &browser,
        "[aria-label='Conversation']",
        Duration::from_secs(20),
        |t| t.contains("message 9999"),
    )
    .await;
    let opened = started.elapsed();
    eprintln!("opened on 1,000 users and 10,000 messages in {opened:?}");
    // A page of the newest, not the whole history.
    let shown = browser
        .find_all(Locator::Css("[aria-label='Conversation'] > li"))
        .await
        .unwrap()
        .len();
    assert_eq!(shown, 10, "USER_0999 wrote 10 messages");
    // Responsive: filtering the list answers at once.
    let filter = browser.find(Locator::Css("#user-filter")).await.unwrap();
    filter.send_keys("USER_012").await.unwrap();
    wait_text(&browser, "#user-count", Duration::from_secs(5), |t| {
        t == "10 of 1001 users"
    })
    .await;
    browser.close().await.unwrap();
    emu.shutdown().await;
}
