//! Serializes one docs example N times with the generated HTTP writer or
//! the hand-written serde derive of `benches/hand`, for counting
//! instructions under valgrind, which a busy machine does not disturb the
//! way it disturbs wall-clock timings:
//!
//! ```text
//! cargo build --release -p wechat-msg-tests --example serialize_icount
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/serialize_icount link generated 10000
//! ```
//!
//! `scripts/bench-icount.sh` runs every example both ways and prints the
//! instructions per message.

// templateMessage.send and uniformMessage.send are retired.
#![allow(deprecated)]

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wechat_msg::Wired;
use wechat_msg::{CustomerServiceMessage, Form, TemplateMessage, UniformMessage, Wire};

#[path = "../benches/hand/mod.rs"]
mod hand;

fn example(api: &str, name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("golden")
        .join(api)
        .join(format!("{name}.http.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn run<G, H>(api: &str, name: &str, generated: bool, times: usize)
where
    G: Wire,
    H: Serialize + for<'de> Deserialize<'de>,
{
    let value = example(api, name);
    let message = G::from_value(&value, Form::Http).expect("the example parses");
    let baseline: H = serde_json::from_value(value).expect("the baseline parses");
    let mut buf = Vec::with_capacity(4096);
    for _ in 0..times {
        buf.clear();
        if generated {
            serde_json::to_writer(&mut buf, &Wired(Form::Http, black_box(&message))).unwrap();
        } else {
            serde_json::to_writer(&mut buf, black_box(&baseline)).unwrap();
        }
        black_box(buf.len());
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: serialize_icount text|image|link|miniprogrampage|uniform|template generated|serde_derive TIMES";
    let [message, writer, times] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let (Ok(times), Some(generated)) = (
        times.parse::<usize>(),
        match writer.as_str() {
            "generated" => Some(true),
            "serde_derive" => Some(false),
            _ => None,
        },
    ) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    const CS: &str = "customerServiceMessage.send";
    match message.as_str() {
        "uniform" => run::<UniformMessage, hand::UniformMessage>(
            "uniformMessage.send",
            "send",
            generated,
            times,
        ),
        "template" => run::<TemplateMessage, hand::TemplateMessage>(
            "templateMessage.send",
            "send",
            generated,
            times,
        ),
        "text" | "image" | "link" | "miniprogrampage" => run::<
            CustomerServiceMessage,
            hand::CustomerServiceMessage,
        >(CS, message, generated, times),
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
