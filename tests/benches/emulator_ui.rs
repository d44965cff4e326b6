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

use wechat_msg::Client;
use wechat_msg::{CustomerServiceMessage, Text};
use wechat_msg_emulator::{Config, Emulator};
use wechat_msg_tests::browser::{CHROMEDRIVER, Driver};

const SENDERS: u64 = 8;

/// This process's CPU time so far (user and system), from
/// `/proc/self/stat`: the emulator's and the client's, not the browser's.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command's closing parenthesis; utime and stime
    // are the 12th and 13th of them, in clock ticks (100 a second).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Sends `count` messages from [`SENDERS`] tasks; messages a second, and
/// this process's CPU microseconds a message.
async fn round(client: &Client, reply: &Arc<CustomerServiceMessage>, count: u64) -> (f64, f64) {
    let cpu = cpu_time();
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
    let rate = count as f64 / start.elapsed().as_secs_f64();
    let cpu_us = (cpu_time() - cpu).as_secs_f64() * 1e6 / count as f64;
    (rate, cpu_us)
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
    let _ = rt.block_on(round(&client, &reply, 2000));

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
    let mut cpu: [Vec<f64>; 3] = Default::default();
    for r in 0..rounds {
        let (rate, us) = rt.block_on(round(&client, &reply, sends));
        nobody.push(rate);
        cpu[0].push(us);

        let reading = rt.spawn({
            let url = format!("{}/_emulator/events", emu.base_url());
            async move {
                let mut answer = reqwest::get(url).await.unwrap();
                while let Ok(Some(_)) = answer.chunk().await {}
            }
        });
        std::thread::sleep(Duration::from_millis(200));
        let (rate, us) = rt.block_on(round(&client, &reply, sends));
        follower.push(rate);
        cpu[1].push(us);
        reading.abort();

        if let Some(browser) = &browser {
            rt.block_on(async {
                browser.goto(&page).await.unwrap();
                tokio::time::sleep(Duration::from_millis(800)).await;
            });
            let (rate, us) = rt.block_on(round(&client, &reply, sends));
            ui.push(rate);
            cpu[2].push(us);
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
    let base_cpu = median(&mut cpu[0]);
    println!(
        "emulator_send, median of {rounds} rounds of {sends} messages \
         (throughput; CPU of the emulator and client process a message):"
    );
    println!("  nobody follows     {base:>8.0} msg/s            {base_cpu:>6.1} us");
    let show = |name: &str, rates: &mut Vec<f64>, cpus: &mut Vec<f64>| {
        if rates.is_empty() {
            return;
        }
        let rate = median(rates);
        let us = median(cpus);
        println!(
            "  {name:<18} {rate:>8.0} msg/s ({:.3})    {us:>6.1} us ({:.3})",
            rate / base,
            us / base_cpu
        );
    };
    let [_, follower_cpu, ui_cpu] = &mut cpu;
    show("an event follower", &mut follower, follower_cpu);
    show("the web UI open", &mut ui, ui_cpu);
    if let Some(browser) = browser {
        rt.block_on(async { browser.close().await.unwrap() });
    }
    rt.block_on(emu.shutdown());
}
