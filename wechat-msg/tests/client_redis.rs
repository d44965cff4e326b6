//! The token store on a real `redis-server`: one fetch for many clients,
//! a late writer with an older generation refused, a refused token dropped
//! only while current, readers without the AppSecret, and Redis restarted
//! and stopped mid-run (clear errors or the fallback, never a hang).
#![cfg(feature = "redis")]

mod client_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use client_support::redis_server::RedisServer;
use client_support::*;
use wechat_msg::Client;
use wechat_msg::client::{
    AccessToken, BoxError, BoxFuture, ErrorKind, FreshToken, StoreFallback, TokenErrorKind,
    TokenProvider, TokenSource, TokenStore,
};

const SEND: &str = "/cgi-bin/message/custom/send";
const CLASSIC: &str = "/cgi-bin/token";

/// Every call is bounded: a hang fails the test instead of stalling it.
const BOUND: Duration = Duration::from_secs(60);

/// A server issuing classic tokens and refusing `refused` tokens with 40001.
async fn wechat(expires_in: u64, refused: &'static [&'static str]) -> (Fake, Tokens) {
    let tokens = Tokens::default();
    let issuer = tokens.clone();
    let fake = serve(move |hit| {
        let answer = issuer.answer(&hit, expires_in);
        let refuse = hit.token().is_some_and(|t| refused.contains(&t));
        async move {
            match answer {
                Some(answer) => answer,
                None if refuse => errcode(40001, "invalid credential"),
                None => ok(),
            }
        }
    })
    .await;
    (fake, tokens)
}

fn classic(fake: &Fake, redis: &RedisServer) -> wechat_msg::client::ClientBuilder {
    builder(&fake.base_url())
        .token_source(TokenSource::classic(APPID, SECRET))
        .token_store(
            TokenStore::redis(redis.url())
                .timeouts(Duration::from_millis(500), Duration::from_millis(500)),
        )
}

async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not end within {BOUND:?}"))
}

fn key(name: &str) -> String {
    format!("wechat-msg:{APPID}:{name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_clients_fetch_the_classic_token_once() {
    let redis = RedisServer::start();
    let (fake, tokens) = wechat(7200, &[]).await;
    let clients: Vec<Client> = (0..16)
        .map(|_| classic(&fake, &redis).build().unwrap())
        .collect();
    let mut sends = tokio::task::JoinSet::new();
    for client in clients {
        sends.spawn(async move { client.send(&text_message("OPENID")).await.map(|_| ()) });
    }
    let results = bounded("the sends", sends.join_all()).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(tokens.issued(), 1, "one classic fetch for every client");
    assert_eq!(fake.count(CLASSIC), 1);
    assert_eq!(fake.count(SEND), 16);
    assert_eq!(
        redis.cli(&["HGET", &key("token"), "token"]).as_deref(),
        Some(Tokens::nth(1).as_str())
    );
}

/// A provider that signals when asked, then answers `token` once let go.
struct Gated {
    token: &'static str,
    asked: tokio::sync::mpsc::UnboundedSender<()>,
    go: Arc<tokio::sync::Semaphore>,
}

impl TokenProvider for Gated {
    fn fetch_token(&self) -> BoxFuture<'_, Result<FreshToken, BoxError>> {
        Box::pin(async move {
            let _ = self.asked.send(());
            self.go.acquire().await?.forget();
            Ok(FreshToken {
                token: AccessToken::new(self.token),
                expires_in: Some(Duration::from_secs(7200)),
            })
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_writer_with_an_older_generation_is_refused() {
    let redis = RedisServer::start();
    let (fake, _) = wechat(7200, &[]).await;
    let store = || {
        TokenStore::redis(redis.url())
            .appid(APPID)
            .lock_ttl(Duration::from_millis(200))
    };
    let (asked_slow, mut slow_asked) = tokio::sync::mpsc::unbounded_channel();
    let slow_go = Arc::new(tokio::sync::Semaphore::new(0));
    let slow = builder(&fake.base_url())
        .token_provider(Gated {
            token: "TOKEN-SLOW",
            asked: asked_slow,
            go: slow_go.clone(),
        })
        .token_store(store())
        .build()
        .unwrap();
    let (asked_fast, _fast_asked) = tokio::sync::mpsc::unbounded_channel();
    let fast = builder(&fake.base_url())
        .token_provider(Gated {
            token: "TOKEN-FAST",
            asked: asked_fast,
            go: Arc::new(tokio::sync::Semaphore::new(1)),
        })
        .token_store(store())
        .build()
        .unwrap();

    // The slow writer takes the lock (generation 1) and stalls in its fetch.
    let slow_task = tokio::spawn(async move { slow.access_token().await });
    bounded("the slow fetch to start", slow_asked.recv()).await;
    assert_eq!(
        redis.cli(&["GET", &key("generation")]).as_deref(),
        Some("1")
    );
    // Its lock expires; the fast writer takes generation 2 and writes.
    bounded("the lock to expire", async {
        while redis.cli(&["EXISTS", &key("lock")]).as_deref() != Some("0") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let token = bounded("the fast fetch", fast.access_token()).await;
    assert_eq!(token.unwrap().unwrap().expose(), "TOKEN-FAST");
    assert_eq!(
        redis.cli(&["GET", &key("generation")]).as_deref(),
        Some("2")
    );

    // The slow writer finishes: its older generation is refused, and it
    // uses the newer token.
    slow_go.add_permits(1);
    let token = bounded("the slow fetch", slow_task).await.unwrap();
    assert_eq!(token.unwrap().unwrap().expose(), "TOKEN-FAST");
    assert_eq!(
        redis.cli(&["HGET", &key("token"), "token"]).as_deref(),
        Some("TOKEN-FAST")
    );
    assert_eq!(
        redis.cli(&["HGET", &key("token"), "generation"]).as_deref(),
        Some("2")
    );
    assert_eq!(redis.cli(&["GET", &key("written")]).as_deref(), Some("2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_dropped_from_the_store_only_while_it_is_current() {
    let redis = RedisServer::start();
    let first = Tokens::nth(1);
    let refused: &'static [&'static str] = Box::leak(Box::new([&*first.leak()]));
    let (fake, tokens) = wechat(7200, refused).await;
    let a = classic(&fake, &redis).build().unwrap();
    let b = classic(&fake, &redis).build().unwrap();
    // Both hold TOKEN-1.
    assert_eq!(
        a.access_token().await.unwrap().unwrap().expose(),
        refused[0]
    );
    assert_eq!(
        b.access_token().await.unwrap().unwrap().expose(),
        refused[0]
    );
    // A is refused: TOKEN-1 is dropped, TOKEN-2 fetched and stored.
    bounded("a's send", a.send(&text_message("OPENID")))
        .await
        .unwrap();
    assert_eq!(tokens.issued(), 2);
    // B is refused too: the store no longer holds TOKEN-1, so B takes
    // TOKEN-2 without another fetch.
    bounded("b's send", b.send(&text_message("OPENID")))
        .await
        .unwrap();
    assert_eq!(
        tokens.issued(),
        2,
        "a refusal of an old token fetches nothing"
    );
    assert_eq!(
        b.access_token().await.unwrap().unwrap().expose(),
        Tokens::nth(2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_without_the_secret_uses_what_a_refresher_keeps() {
    let redis = RedisServer::start();
    let (fake, tokens) = wechat(7200, &[]).await;
    let reader = builder(&fake.base_url())
        .token_source(TokenSource::stored(APPID))
        .token_store(TokenStore::redis(redis.url()).wait(Duration::from_millis(300)))
        .build()
        .unwrap();
    let err = bounded("the reader", reader.send(&text_message("OPENID")))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("Redis token store held no token") && text.contains("holds no AppSecret"),
        "{text}"
    );
    assert_eq!(fake.count(CLASSIC), 0);

    let refresher = classic(&fake, &redis).build().unwrap();
    refresher.send(&text_message("OPENID")).await.unwrap();
    let reader = builder(&fake.base_url())
        .token_source(TokenSource::stored(APPID))
        .token_store(TokenStore::redis(redis.url()))
        .build()
        .unwrap();
    bounded("the reader", reader.send(&text_message("OPENID")))
        .await
        .unwrap();
    assert_eq!(tokens.issued(), 1);
    assert_eq!(fake.to(SEND)[1].token(), Some(Tokens::nth(1).as_str()));
}

/// Whether `err` is the store's clear error, without the token or secret.
fn store_error<C>(err: &wechat_msg::client::Error<C>) -> bool
where
    wechat_msg::client::Error<C>: std::fmt::Display + std::fmt::Debug,
{
    let text = format!("{err} {err:?}");
    assert!(!text.contains("TOKEN-") && !text.contains(SECRET), "{text}");
    matches!(err.kind(), ErrorKind::Token(t) if matches!(t.kind(), TokenErrorKind::Store(_)))
        && err.to_string().contains("Redis token store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_mid_run_costs_at_most_clear_errors_and_one_fetch() {
    let mut redis = RedisServer::start();
    // Tokens due every second: each send after that asks the store.
    let (fake, tokens) = wechat(1, &[]).await;
    let client = classic(&fake, &redis)
        .refresh_margin(Duration::ZERO)
        .build()
        .unwrap();
    bounded("a send", client.send(&text_message("OPENID")))
        .await
        .unwrap();
    redis.restart();
    let outcomes = Arc::new(Mutex::new((0, 0)));
    bounded("sends until one succeeds", async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            match bounded("a send", client.send(&text_message("OPENID"))).await {
                Ok(_) => {
                    outcomes.lock().unwrap().0 += 1;
                    if tokens.issued() >= 2 {
                        break;
                    }
                }
                Err(err) => {
                    assert!(store_error(&err), "{err}");
                    outcomes.lock().unwrap().1 += 1;
                }
            }
        }
    })
    .await;
    let (sent, failed) = *outcomes.lock().unwrap();
    println!("after the restart: {sent} sent, {failed} clear store errors");
    assert_eq!(
        redis.cli(&["HGET", &key("token"), "token"]).as_deref(),
        Some(Tokens::nth(tokens.issued()).as_str()),
        "the restarted store holds the token fetched after it came back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_mid_run_fails_clearly_or_falls_back_never_hangs() {
    let mut redis = RedisServer::start();
    let (fake, tokens) = wechat(1, &[]).await;
    let failing = classic(&fake, &redis)
        .refresh_margin(Duration::ZERO)
        .build()
        .unwrap();
    let falling_back = builder(&fake.base_url())
        .token_source(TokenSource::classic(APPID, SECRET))
        .token_store(
            TokenStore::redis(redis.url())
                .timeouts(Duration::from_millis(500), Duration::from_millis(500))
                .fallback(StoreFallback::FetchLocally),
        )
        .refresh_margin(Duration::ZERO)
        .build()
        .unwrap();
    bounded("a send", failing.send(&text_message("OPENID")))
        .await
        .unwrap();
    bounded("a send", falling_back.send(&text_message("OPENID")))
        .await
        .unwrap();
    assert_eq!(tokens.issued(), 1);
    redis.stop();

    // Once the cached token is due, the failing client reports the store.
    let err = bounded("sends until the store is asked", async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Err(err) = failing.send(&text_message("OPENID")).await {
                break err;
            }
        }
    })
    .await;
    assert!(store_error(&err), "{err}");
    assert_eq!(err.delivery(), wechat_msg::client::Delivery::NotSent);
    println!("with Redis stopped: {err}");

    // The other fetches its own token and sends.
    let before = tokens.issued();
    bounded("sends past the due token", async {
        while tokens.issued() == before {
            tokio::time::sleep(Duration::from_millis(200)).await;
            falling_back
                .send(&text_message("OPENID"))
                .await
                .expect("the fallback fetches locally");
        }
    })
    .await;
}

/// A server accepting every message and recording when each arrived
/// (Unix seconds).
async fn timed() -> (Fake, Arc<Mutex<Vec<u64>>>) {
    let tokens = Tokens::default();
    let arrivals: Arc<Mutex<Vec<u64>>> = Arc::default();
    let recorded = arrivals.clone();
    let fake = serve(move |hit| {
        let answer = tokens.answer(&hit, 7200);
        if answer.is_none() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            recorded.lock().unwrap().push(now.as_secs());
        }
        async move { answer.unwrap_or_else(ok) }
    })
    .await;
    (fake, arrivals)
}

/// Calls per whole second, in order.
fn per_second(arrivals: &[u64]) -> Vec<usize> {
    let mut counts = std::collections::BTreeMap::<u64, usize>::new();
    for second in arrivals {
        *counts.entry(*second).or_default() += 1;
    }
    counts.into_values().collect()
}

/// `senders` tasks per client, each sending `each` messages one after the
/// other; the calls per second the server saw.
async fn burst(
    clients: &[Client],
    senders: usize,
    each: usize,
    arrivals: &Mutex<Vec<u64>>,
) -> Vec<usize> {
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        for _ in 0..senders {
            let client = client.clone();
            tasks.spawn(async move {
                for _ in 0..each {
                    client.send(&text_message("OPENID")).await.unwrap();
                }
            });
        }
    }
    bounded("the burst", tasks.join_all()).await;
    per_second(&arrivals.lock().unwrap())
}

// A call granted in one second may arrive in the next: a second can hold
// the limit plus the calls in flight at its start (one per sender), and no
// more. Without a limit, every call of these bursts lands in one second.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_sharing_a_redis_rate_limit_stay_under_it_together() {
    const RATE: usize = 4;
    let redis = RedisServer::start();
    let (fake, arrivals) = timed().await;
    let clients: Vec<Client> = (0..2)
        .map(|_| {
            builder(&fake.base_url())
                .rate_limit(
                    wechat_msg::client::RateLimit::per_second(RATE as u32).redis(redis.url()),
                )
                .build()
                .unwrap()
        })
        .collect();
    let counts = burst(&clients, 1, 8, &arrivals).await;
    println!("2 clients, {RATE}/s through Redis: calls per second {counts:?}");
    assert_eq!(counts.iter().sum::<usize>(), 16);
    assert!(counts.iter().all(|&n| n <= RATE + 2), "{counts:?}");
    assert!(counts.len() >= 16usize.div_ceil(RATE + 2), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_process_rate_limit_spaces_a_burst() {
    const RATE: usize = 5;
    let (fake, arrivals) = timed().await;
    let client = builder(&fake.base_url())
        .rate_limit(wechat_msg::client::RateLimit::per_second(RATE as u32))
        .build()
        .unwrap();
    let counts = burst(&[client], 3, 5, &arrivals).await;
    println!("1 client, {RATE}/s in process: calls per second {counts:?}");
    assert_eq!(counts.iter().sum::<usize>(), 15);
    assert!(counts.iter().all(|&n| n <= RATE + 3), "{counts:?}");
    assert!(counts.len() >= 15usize.div_ceil(RATE + 3), "{counts:?}");
}

#[test]
fn a_rate_limit_of_zero_is_refused() {
    let err = builder("http://127.0.0.1:1")
        .rate_limit(wechat_msg::client::RateLimit::per_second(0))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rate limit: the rate limit must allow at least 1 call a second"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_never_answers_ends_in_a_clear_error_within_the_timeouts() {
    // A port that accepts connections (into its backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "redis://127.0.0.1:{}/0",
        silent.local_addr().unwrap().port()
    );
    let (fake, tokens) = wechat(7200, &[]).await;
    let client = builder(&fake.base_url())
        .token_source(TokenSource::classic(APPID, SECRET))
        .token_store(
            TokenStore::redis(url).timeouts(Duration::from_millis(300), Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    let err = bounded("a send", client.send(&text_message("OPENID")))
        .await
        .unwrap_err();
    assert!(store_error(&err), "{err}");
    assert_eq!(tokens.issued(), 0);
    assert_eq!(fake.count(SEND), 0);
    drop(silent);
}

#[test]
fn the_store_url_and_its_password_are_never_shown() {
    let store = TokenStore::redis("redis://:hunter2@127.0.0.1:1/0");
    let shown = format!("{store:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("127.0.0.1"),
        "{shown}"
    );
    let rate = wechat_msg::client::RateLimit::per_second(1).redis("redis://:hunter2@127.0.0.1:1/0");
    assert!(!format!("{rate:?}").contains("hunter2"));
    let err = builder("http://127.0.0.1:1")
        .token_store(TokenStore::redis("redis://:hunter2@[bad/0"))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "token store: the Redis token store URL is invalid: expected redis://HOST:PORT[/DB]"
    );
    let err = builder("http://127.0.0.1:1")
        .token_source(TokenSource::fixed("T"))
        .token_store(TokenStore::redis("redis://127.0.0.1:1/0"))
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("the store's keys need an AppID"),
        "{err}"
    );
}
