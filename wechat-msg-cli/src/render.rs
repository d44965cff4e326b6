//! `wechat-msg render`: validate a body with the generated parser and print
//! it in the requested form.

use wechat_msg::Form;

use crate::{Failure, input};

pub fn run(api: &str, from: Form, to: Form, file: Option<&str>) -> Result<(), Failure> {
    let endpoint = input::endpoint(api)?;
    let body = input::read_json(file)?;
    let rendered = (endpoint.convert)(&body, from, to)
        .map_err(|e| Failure::invalid(format!("invalid {api} request ({from} form): {e}")))?;
    let text =
        serde_json::to_string_pretty(&rendered).map_err(|e| Failure::invalid(e.to_string()))?;
    println!("{text}");
    Ok(())
}
