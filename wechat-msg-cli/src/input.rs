//! Reading a request body and finding its endpoint.

use std::io::Read;

use serde_json::Value;
use wechat_msg::EndpointInfo;

use crate::Failure;

/// The endpoint named `api`, or an error listing the known names.
pub fn endpoint(api: &str) -> Result<&'static EndpointInfo, Failure> {
    wechat_msg::endpoint(api).ok_or_else(|| {
        let known: Vec<&str> = wechat_msg::ENDPOINTS.iter().map(|e| e.name).collect();
        Failure::invalid(format!(
            "unknown API `{api}`; known APIs: {}",
            known.join(", ")
        ))
    })
}

/// The JSON body in `file`, or standard input when `None` or `-`.
pub fn read_json(file: Option<&str>) -> Result<Value, Failure> {
    let (text, source) = match file {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Failure::invalid(format!("cannot read standard input: {e}")))?;
            (text, "standard input".to_owned())
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::invalid(format!("cannot read {path}: {e}")))?;
            (text, path.to_owned())
        }
    };
    serde_json::from_str(&text)
        .map_err(|e| Failure::invalid(format!("{source}: invalid JSON: {e}")))
}
