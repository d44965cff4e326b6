//! `wechat-msg endpoints`: what the spec holds.

use serde_json::{Value, json};
use wechat_msg::meta::{Auth, EndpointInfo};
use wechat_msg::{AUTH_ENDPOINTS, ENDPOINTS};

use crate::failure::Failure;

/// Every endpoint: those sent with an access_token, then the token
/// endpoints (marked: the client calls them itself; `send` and the relay
/// do not).
fn all() -> impl Iterator<Item = &'static EndpointInfo> {
    ENDPOINTS.iter().chain(AUTH_ENDPOINTS).copied()
}

pub fn run(as_json: bool) -> Result<(), Failure> {
    if as_json {
        let list: Vec<Value> = all().map(describe).collect();
        let text =
            serde_json::to_string_pretty(&list).map_err(|e| Failure::invalid(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    let width = all().map(|e| e.name.len()).max().unwrap_or(0);
    for e in all() {
        let mut line = format!("{:<width$}  {:<4} {}", e.name, e.method.as_str(), e.path);
        if e.auth == Auth::None {
            line.push_str("  [token endpoint: no access_token");
            if !e.cloud {
                line.push_str(", no cloud call");
            }
            line.push(']');
        } else if !e.cloud {
            line.push_str("  [HTTPS only: no cloud call]");
        }
        if let Some(d) = &e.deprecated {
            line.push_str("  [deprecated");
            if let Some(since) = d.since {
                line.push_str(&format!(" since {since}"));
            }
            if let Some(successor) = d.successor {
                line.push_str(&format!("; use {successor}"));
            }
            line.push(']');
        }
        println!("{line}");
    }
    Ok(())
}

fn describe(e: &EndpointInfo) -> Value {
    let errcodes: Vec<Value> = e
        .errcodes
        .iter()
        .map(|c| {
            json!({
                "code": c.code,
                "name": c.name,
                "description": c.description,
                "class": c.class.as_str(),
            })
        })
        .collect();
    json!({
        "name": e.name,
        "method": e.method.as_str(),
        "path": e.path,
        "request_type": e.request_type,
        "body": e.body.as_str(),
        "answer": e.answer.as_str(),
        "auth": match e.auth {
            Auth::None => "none",
            _ => "access_token",
        },
        "cloud": e.cloud,
        "deprecated": e.deprecated.map(|d| json!({
            "since": d.since,
            "successor": d.successor,
            "note": d.note,
        })),
        "errcodes": errcodes,
    })
}
