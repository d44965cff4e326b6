//! `wechat-msg rid` and `wechat-msg quota`: WeChat's own diagnostics of the
//! account's calls. `rid RID` prints what WeChat recorded for the call whose
//! errmsg ended in `rid: RID` (openApi.getRidInfo); `quota PATH` prints the
//! daily quota of one API (openApi.getApiQuota). Both are HTTPS-only at
//! WeChat: with `--via cloud` they still go over HTTPS.

use serde_json::Value;
use wechat_msg::client::AnyError;
use wechat_msg::{ApiQuotaQuery, Endpoint, Form, RidQuery, Wire};

use crate::failure::{Failure, failure_of};
use crate::output::{self, redact_query};
use crate::target::{Connected, Target, connect};

/// Prints the record of `rid`: `{"request": {invoke_time, cost_in_ms,
/// request_url, request_body, response_body, client_ip}}`, the access
/// token in `request_url` redacted.
pub async fn rid(rid: String, target: Target) -> Result<(), Failure> {
    let request = RidQuery::builder().rid(rid).build();
    let mut answer = ask(&request, target).await?;
    if let Some(slot) = answer.pointer_mut("/request/request_url")
        && let Some(url) = slot.as_str()
    {
        *slot = Value::String(redact_query(url));
    }
    print(&answer)
}

/// Prints the quota of the API at `path`: `{"quota": {daily_limit, used,
/// remain}, ...}`.
pub async fn quota(path: String, target: Target) -> Result<(), Failure> {
    let request = ApiQuotaQuery::builder().cgi_path(path).build();
    let answer = ask(&request, target).await?;
    print(&answer)
}

/// Sends `request` through `target` and gives its typed answer in the HTTP
/// form, scrubbed of the secrets the command holds.
async fn ask<E>(request: &E, target: Target) -> Result<Value, Failure>
where
    E: Endpoint,
    E::Answer: Wire,
{
    let Connected {
        client,
        embedded,
        mut redactions,
        ..
    } = connect(target).await?;
    let result = client.send(request).await;
    if let Ok(Some(token)) = client.access_token().await {
        redactions.add(token.expose());
    }
    if let Some(emulator) = embedded {
        emulator.shutdown().await;
    }
    let answer = result.map_err(|e| failure_of(&AnyError::from(e).into_inner(), &redactions))?;
    let mut value = answer.to_value(Form::Http);
    redactions.json(&mut value);
    Ok(value)
}

fn print(value: &Value) -> Result<(), Failure> {
    output::write_json(value)
        .map_err(|e| Failure::invalid(format!("cannot write to standard output: {e}")))
}
