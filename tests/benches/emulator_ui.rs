//! The emulator's send throughput with its web UI open against without:
//! `customerServiceMessage.send` to one user through the client, from 8
//! concurrent senders, with nobody following the events, with one
//! follower of `GET /_emulator/events` reading every event, and with the
//! web UI open in headless Chromium on that user's conversation (every
//! reply drawn as it comes). The target: within 10% of without.
//!
//! Run: `cargo bench -p wechat-msg-tests --bench emulator_ui` (Chromium
//! part: Debian's `chromium` and `chromium-driver`); the last results are
//! in BENCHMARKS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wechat_msg::client::Client;
use wechat_msg::{CustomerServiceMessage, Text};
use wechat_msg_emulator::{Config, Emulator};
use wechat_msg_tests::browser::{CHROMEDRIVER, Driver};

const SENDERS: u64 = 8;

async fn batch(client: &Client, reply: &Arc<CustomerServiceMessage>, iters: u64) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..SENDERS)
        .map(|i| {
            let n = iters / SENDERS + u64::from(i < iters % SENDERS);
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
    start.elapsed()
}

fn sends(c: &mut Criterion) {
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
    rt.block_on(async { client.send(&*reply).await.unwrap() });

    let mut group = c.benchmark_group("emulator_send");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("nobody_follows", |b| {
        b.iter_custom(|iters| rt.block_on(batch(&client, &reply, iters)));
    });

    // One follower reading every event as it comes.
    let follower = rt.spawn({
        let url = format!("{}/_emulator/events", emu.base_url());
        async move {
            let mut answer = reqwest::get(url).await.unwrap();
            while let Ok(Some(_)) = answer.chunk().await {}
        }
    });
    group.bench_function("an_event_follower", |b| {
        b.iter_custom(|iters| rt.block_on(batch(&client, &reply, iters)));
    });
    follower.abort();

    if std::path::Path::new(CHROMEDRIVER).exists() {
        let driver = Driver::start();
        let browser = rt.block_on(async {
            let browser = driver.browser().await;
            browser
                .goto(&format!("{}/_emulator/ui/?user=OPENID", emu.base_url()))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(2)).await;
            browser
        });
        group.bench_function("the_web_ui_open", |b| {
            b.iter_custom(|iters| rt.block_on(batch(&client, &reply, iters)));
        });
        rt.block_on(async { browser.close().await.unwrap() });
    } else {
        eprintln!("{CHROMEDRIVER} is not installed: the_web_ui_open skipped");
    }
    group.finish();
    rt.block_on(emu.shutdown());
}

criterion_group!(benches, sends);
criterion_main!(benches);
