//! The generated reader (`Wire::from_json`) against a hand-written
//! `#[derive(Deserialize)]` of the same shapes (the baseline, `hand/`)
//! parsing the same bytes, one group per body. `serde_derive_checked` is
//! the derive followed by the keyword checks the generated reader makes
//! (only the subscribe message has keywords). The last line,
//! `via_value`, reads through a `serde_json::Value` first
//! (`wire::parse_json` then `Wire::from_value`): the dynamic path, and
//! what `from_json` did before it streamed.
//!
//! Run: `cargo bench -p wechat-msg-tests --bench parse`; the last results
//! are in BENCHMARKS.md.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::Deserialize;
use serde_json::Value;
use wechat_msg::{CustomerServiceMessage, Form, SubscribeMessage, Wire};

mod hand;

fn golden(api: &str, name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(api)
        .join(format!("{name}.http.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One body read by each parser; checks both accept it and that the
/// generated reader reads back what it was given, then benchmarks them.
fn group<G, H>(c: &mut Criterion, label: &str, text: &str)
where
    G: Wire,
    H: for<'de> Deserialize<'de> + hand::KeywordChecks,
{
    let generated = G::from_json(text, Form::Http).expect("the generated reader accepts it");
    assert_eq!(
        generated.to_value(Form::Http),
        serde_json::from_str::<Value>(text).unwrap(),
        "{label}: generated round trip"
    );
    let baseline = serde_json::from_str::<H>(text).expect("the baseline accepts it");
    assert!(baseline.keywords_fit(), "{label}: keywords fit");

    let mut group = c.benchmark_group(format!("parse/{label}"));
    group.bench_function("generated", |b| {
        b.iter(|| G::from_json(black_box(text), Form::Http).unwrap())
    });
    group.bench_function("serde_derive", |b| {
        b.iter(|| serde_json::from_str::<H>(black_box(text)).unwrap())
    });
    group.bench_function("serde_derive_checked", |b| {
        b.iter(|| {
            let read = serde_json::from_str::<H>(black_box(text)).unwrap();
            assert!(read.keywords_fit());
            read
        })
    });
    group.bench_function("via_value", |b| {
        b.iter(|| {
            let value = wechat_msg::meta::parse_json(black_box(text).as_bytes()).unwrap();
            G::from_value(&value, Form::Http).unwrap()
        })
    });
    group.finish();
}

fn parse(c: &mut Criterion) {
    const CS: &str = "customerServiceMessage.send";
    for name in ["text", "link", "miniprogrampage"] {
        group::<CustomerServiceMessage, hand::CustomerServiceMessage>(
            c,
            &format!("{CS}/{name}"),
            &golden(CS, name),
        );
    }
    group::<SubscribeMessage, hand::SubscribeMessage>(
        c,
        "subscribeMessage.send",
        hand::SUBSCRIBE_FIVE_KEYWORDS,
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = parse
}
criterion_main!(benches);
