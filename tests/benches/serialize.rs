//! The generated HTTP serializer against a hand-written `#[derive(Serialize)]`
//! layout of the same messages (the baseline) and against copying
//! precomputed bytes (the floor), one group per docs example.
//!
//! Each writes into a reused `Vec<u8>`, so the numbers are serialization
//! alone, not allocation. Run: `cargo bench -p wechat-msg-tests`; the last
//! results are in BENCHMARKS.md.

// templateMessage.send and uniformMessage.send are retired; they are still
// the largest bodies the spec has.
#![allow(deprecated)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wechat_msg::wire::Wired;
use wechat_msg::{CustomerServiceMessage, Form, TemplateMessage, UniformMessage, Wire};

/// The baseline: the layout a hand-written client would use for the same
/// HTTP bodies. The union is spelled out as one optional field per
/// msgtype, so no `#[serde(tag)]` machinery is involved.
mod hand {
    use super::*;

    #[derive(Serialize, Deserialize)]
    pub struct CustomerServiceMessage {
        pub touser: String,
        pub msgtype: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub text: Option<Text>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub image: Option<Image>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub link: Option<Link>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub miniprogrampage: Option<MiniProgramPage>,
    }

    #[derive(Serialize, Deserialize)]
    pub struct Text {
        pub content: String,
    }

    #[derive(Serialize, Deserialize)]
    pub struct Image {
        pub media_id: String,
    }

    #[derive(Serialize, Deserialize)]
    pub struct Link {
        pub title: String,
        pub description: String,
        pub url: String,
        pub thumb_url: String,
    }

    #[derive(Serialize, Deserialize)]
    pub struct MiniProgramPage {
        pub title: String,
        pub pagepath: String,
        pub thumb_media_id: String,
    }

    #[derive(Serialize, Deserialize)]
    pub struct TemplateKeyword {
        pub value: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub color: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    pub struct TemplateMessage {
        pub touser: String,
        pub template_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub page: Option<String>,
        pub form_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub data: Option<BTreeMap<String, TemplateKeyword>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub emphasis_keyword: Option<String>,
    }

    #[derive(Serialize, Deserialize)]
    pub struct UniformMessage {
        pub touser: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub weapp_template_msg: Option<WeappTemplateMessage>,
        pub mp_template_msg: MpTemplateMessage,
    }

    #[derive(Serialize, Deserialize)]
    pub struct WeappTemplateMessage {
        pub template_id: String,
        pub page: String,
        pub form_id: String,
        pub data: BTreeMap<String, TemplateKeyword>,
        pub emphasis_keyword: String,
    }

    #[derive(Serialize, Deserialize)]
    pub struct MpTemplateMessage {
        pub appid: String,
        pub template_id: String,
        pub url: String,
        pub miniprogram: MiniProgramTarget,
        pub data: BTreeMap<String, TemplateKeyword>,
    }

    #[derive(Serialize, Deserialize)]
    pub struct MiniProgramTarget {
        pub appid: String,
        pub pagepath: String,
    }
}

fn example(api: &str, name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(api)
        .join(format!("{name}.http.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// One message in three writers; checks they write the same JSON, then
/// benchmarks them side by side.
fn group<G, H>(c: &mut Criterion, label: &str, api: &str, name: &str)
where
    G: Wire,
    H: Serialize + for<'de> Deserialize<'de>,
{
    let value = example(api, name);
    let generated = G::from_value(&value, Form::Http).expect("the example parses");
    let hand: H = serde_json::from_value(value.clone()).expect("the baseline parses");
    let precomputed = generated.to_json_vec(Form::Http);

    let written = |write: &dyn Fn(&mut Vec<u8>)| {
        let mut buf = Vec::new();
        write(&mut buf);
        serde_json::from_slice::<Value>(&buf).unwrap()
    };
    let by_generated =
        written(&|buf| serde_json::to_writer(buf, &Wired(Form::Http, &generated)).unwrap());
    let by_hand = written(&|buf| serde_json::to_writer(buf, &hand).unwrap());
    assert_eq!(by_generated, value, "{label}: generated output");
    assert_eq!(by_hand, value, "{label}: baseline output");
    // Byte for byte too: same keys in the same order, same escaping.
    assert_eq!(
        serde_json::to_vec(&hand).unwrap(),
        precomputed,
        "{label}: baseline and generated bytes differ"
    );

    let mut group = c.benchmark_group(label);
    let mut buf = Vec::with_capacity(4096);
    group.bench_function("generated", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, &Wired(Form::Http, black_box(&generated))).unwrap();
            black_box(buf.len())
        })
    });
    group.bench_function("serde_derive", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&hand)).unwrap();
            black_box(buf.len())
        })
    });
    group.bench_function("precomputed", |b| {
        b.iter(|| {
            buf.clear();
            buf.extend_from_slice(black_box(&precomputed));
            black_box(buf.len())
        })
    });
    group.finish();
}

fn serialize(c: &mut Criterion) {
    const CS: &str = "customerServiceMessage.send";
    for name in ["text", "image", "link", "miniprogrampage"] {
        group::<CustomerServiceMessage, hand::CustomerServiceMessage>(
            c,
            &format!("{CS}/{name}"),
            CS,
            name,
        );
    }
    group::<UniformMessage, hand::UniformMessage>(
        c,
        "uniformMessage.send",
        "uniformMessage.send",
        "send",
    );
    group::<TemplateMessage, hand::TemplateMessage>(
        c,
        "templateMessage.send",
        "templateMessage.send",
        "send",
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = serialize
}
criterion_main!(benches);
