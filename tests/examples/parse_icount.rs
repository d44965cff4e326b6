//! Parses one body N times with the generated reader (`Wire::from_json`),
//! the hand-written serde derive of `benches/hand` (alone, or followed by
//! the keyword checks the generated reader makes), or the value reader
//! (`wire::parse_json` then `Wire::from_value`), for counting instructions
//! under valgrind:
//!
//! ```text
//! cargo build --release -p wechat-msg-tests --example parse_icount
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/parse_icount link generated 10000
//! ```
//!
//! `scripts/parse-icount.sh` runs every body each way and prints the
//! instructions per body.

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;

use serde::Deserialize;
use wechat_msg::{CustomerServiceMessage, Form, SubscribeMessage, Wire};

#[path = "../benches/hand/mod.rs"]
mod hand;

#[derive(Clone, Copy)]
enum Reader {
    Generated,
    SerdeDerive,
    SerdeDeriveChecked,
    ViaValue,
}

fn run<G, H>(text: &str, reader: Reader, times: usize)
where
    G: Wire,
    H: for<'de> Deserialize<'de> + hand::KeywordChecks,
{
    G::from_json(text, Form::Http).expect("the generated reader accepts the body");
    serde_json::from_str::<H>(text).expect("the baseline accepts the body");
    for _ in 0..times {
        match reader {
            Reader::Generated => {
                black_box(G::from_json(black_box(text), Form::Http).unwrap());
            }
            Reader::SerdeDerive => {
                black_box(serde_json::from_str::<H>(black_box(text)).unwrap());
            }
            Reader::SerdeDeriveChecked => {
                let read = serde_json::from_str::<H>(black_box(text)).unwrap();
                assert!(read.keywords_fit());
                black_box(read);
            }
            Reader::ViaValue => {
                let value = wechat_msg::meta::parse_json(black_box(text).as_bytes()).unwrap();
                black_box(G::from_value(&value, Form::Http).unwrap());
            }
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: parse_icount text|link|miniprogrampage|subscribe generated|serde_derive|serde_derive_checked|via_value TIMES";
    let [message, reader, times] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let reader = match reader.as_str() {
        "generated" => Reader::Generated,
        "serde_derive" => Reader::SerdeDerive,
        "serde_derive_checked" => Reader::SerdeDeriveChecked,
        "via_value" => Reader::ViaValue,
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let Ok(times) = times.parse::<usize>() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    match message.as_str() {
        "subscribe" => run::<SubscribeMessage, hand::SubscribeMessage>(
            hand::SUBSCRIBE_FIVE_KEYWORDS,
            reader,
            times,
        ),
        "text" | "link" | "miniprogrampage" => {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("golden/customerServiceMessage.send")
                .join(format!("{message}.http.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            run::<CustomerServiceMessage, hand::CustomerServiceMessage>(&text, reader, times)
        }
        _ => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
