//! The emulator's send throughput with its web UI open against without:
//! `customerServiceMessage.send` to one user through the client, from 8
//! concurrent senders, in three conditions: nobody following the events;
//! one follower of `GET /_emulator/events` reading every event; the web UI
//! open in headless Chromium on that user's conversation (every reply drawn
//! as it comes). The target: within 10% of without.
//!
//! The conditions alternate, round after round (each round sends the same
//! number of messages in each), so a machine that gets busier or quieter
//! weighs on all three alike; the medians and their ratios are printed.
//!
//! Run: `cargo bench -p wechat-msg-tests --bench emulator_ui` (the Chromium
//! condition needs Debian's `chromium` and `chromium-driver`); ROUNDS and
//! SENDS set the rounds (9) and messages a round (4,000). The last results
//! are in BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wechat_msg::client::Client;
use wechat_msg::{CustomerServiceMessage, Text};
use wechat_msg_emulator::{Config, Emulator};
use wechat_msg_tests::browser::{CHROMEDRIVER, Driver};

const SENDERS: u64 = 8;

/// Sends `count` messages from [`SENDERS`] tasks; messages a second.
async fn round(client: &Client, reply: &Arc<CustomerServiceMessage>, count: u64) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..SENDERS)
        .map(|i| {
            let n = count / SENDERS + u64::from(i < count % SENDERS);
            let client = client.clone();
            let reply = Arc::clone(reply);
            tokio::spawn(async move {
                for _ in 0..n {
                    client.send(&*reply).await.expect("accepted");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a sender panicked");
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` too: run only
    // for the former.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds = env_number("ROUNDS", 9) as usize;
    let sends = env_number("SENDS", 4000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = Config::default();
    config.conversation.message_window_count = u32::MAX;
    config.quotas.daily = Some(u64::MAX);
    let emu = rt.block_on(Emulator::start(config)).unwrap();
    let client = Client::builder()
        .base_url(emu.base_url())
        .credentials(emu.app().appid.clone(), emu.app().secret.clone())
        .build()
        .unwrap();
    let reply = Arc::new(
        CustomerServiceMessage::builder()
            .touser("OPENID")
            .body(Text::builder().content("a reply").build())
            .build(),
    );
    // Warm up: the token, the connections.
    rt.block_on(round(&client, &reply, 2000));

    let chromium = std::path::Path::new(CHROMEDRIVER).exists();
    if !chromium {
        eprintln!("{CHROMEDRIVER} is not installed: the web UI condition is skipped");
    }
    let driver = chromium.then(Driver::start);
    let browser = driver.as_ref().map(|d| rt.block_on(d.browser()));
    let page = format!("{}/_emulator/ui/?user=OPENID", emu.base_url());

    let mut nobody = Vec::new();
    let mut follower = Vec::new();
    let mut ui = Vec::new();
    for r in 0..rounds {
        nobody.push(rt.block_on(round(&client, &reply, sends)));

        let reading = rt.spawn({
            let url = format!("{}/_emulator/events", emu.base_url());
            async move {
                let mut answer = reqwest::get(url).await.unwrap();
                while let Ok(Some(_)) = answer.chunk().await {}
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        follower.push(rt.block_on(round(&client, &reply, sends)));
        reading.abort();

        if let Some(browser) = &browser {
            rt.block_on(async {
                browser.goto(&page).await.unwrap();
                tokio::time::sleep(Duration::from_millis(800)).await;
            });
            ui.push(rt.block_on(round(&client, &reply, sends)));
            rt.block_on(async { browser.goto("about:blank").await.unwrap() });
        }
        eprintln!(
            "round {}: nobody {:.0}/s, a follower {:.0}/s{}",
            r + 1,
            nobody[r],
            follower[r],
            ui.get(r)
                .map_or(String::new(), |u| format!(", the web UI {u:.0}/s"))
        );
    }
    let base = median(&mut nobody);
    let with_follower = median(&mut follower);
    println!("emulator_send, median of {rounds} rounds of {sends} messages:");
    println!("  nobody follows     {base:>8.0} msg/s");
    println!(
        "  an event follower  {with_follower:>8.0} msg/s  ({:.3} of nobody)",
        with_follower / base
    );
    if !ui.is_empty() {
        let with_ui = median(&mut ui);
        println!(
            "  the web UI open    {with_ui:>8.0} msg/s  ({:.3} of nobody)",
            with_ui / base
        );
    }
    if let Some(browser) = browser {
        rt.block_on(async { browser.close().await.unwrap() });
    }
    rt.block_on(emu.shutdown());
}
