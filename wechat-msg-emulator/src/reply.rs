//! WeChat-shaped answers: successes in the HTTP form, the outer answer of
//! a cloud invocation with the cloud call's `{errCode, errMsg, ...}` inside
//! `resp_data`, and a gateway's error pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use wechat_msg::meta::EndpointInfo;
use wechat_msg::{Form, protocol};

use crate::error::{status_body, status_map};

use crate::error::{Errcode, WECHAT_JSON, WxError};
use crate::state::Success;

/// An answer of any status, type and bytes.
#[derive(Debug)]
pub(crate) struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    /// A JSON answer with status 200, as WeChat sends them (errors included).
    pub fn json(value: &Value) -> Reply {
        Reply::bytes(StatusCode::OK, WECHAT_JSON, value.to_string().into_bytes())
    }

    /// An answer of any status and type.
    pub fn bytes(status: StatusCode, content_type: &str, body: Vec<u8>) -> Reply {
        Reply {
            status,
            content_type: content_type.to_owned(),
            body,
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let value = HeaderValue::from_str(&self.content_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        response.headers_mut().insert(header::CONTENT_TYPE, value);
        response
    }
}

/// What a gateway in front of WeChat answers instead of WeChat: an nginx
/// error page, or a JSON errcode -1.
pub(crate) fn gateway_error(status: u16, html: bool) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = if html {
        let reason = status.canonical_reason().unwrap_or("Error");
        let page = format!(
            "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
            code = status.as_u16()
        );
        Reply::bytes(status, "text/html", page.into_bytes()).into_response()
    } else {
        let body = status_body(-1, "system error");
        Reply::bytes(status, "application/json", body.to_string().into_bytes()).into_response()
    };
    response
        .extensions_mut()
        .insert(Errcode(i64::from(status.as_u16())));
    response
}

/// The outer answer of a cloud invocation that ran the relay: errcode 0 and
/// the relay's result, `resp_data`, as a JSON string.
#[derive(Debug)]
pub(crate) struct CloudReply {
    resp_data: Value,
    /// The errCode inside, when the call failed.
    errcode: Option<i64>,
}

impl CloudReply {
    /// A call that succeeded with `resp_data`.
    pub fn success(resp_data: Value) -> Self {
        CloudReply {
            resp_data,
            errcode: None,
        }
    }

    /// A call of `api` that failed with `err`.
    pub fn failure(api: &str, err: &WxError) -> Self {
        CloudReply {
            resp_data: err.cloud_body(api),
            errcode: Some(err.code),
        }
    }
}

impl IntoResponse for CloudReply {
    fn into_response(self) -> Response {
        let mut response = Reply::json(&protocol::invoke_answer(&self.resp_data)).into_response();
        if let Some(code) = self.errcode {
            response.extensions_mut().insert(Errcode(code));
        }
        response
    }
}

/// A successful answer in the HTTP form.
pub(crate) fn http_success(success: &Success) -> Reply {
    match success {
        Success::Json(fields) => Reply::json(&Value::Object(with_status_http(fields))),
        Success::Binary {
            content_type,
            bytes,
        } => Reply::bytes(StatusCode::OK, content_type, bytes.to_vec()),
    }
}

fn with_status_http(fields: &Map<String, Value>) -> Map<String, Value> {
    let mut out = status_map(Form::Http, 0, "ok".into());
    out.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// A successful answer as the cloud call returns it: `errCode`, `errMsg`,
/// then the answer's fields in the cloud form, converted at every depth by
/// the endpoint's generated answer conversion
/// ([`EndpointInfo::convert_answer`]): the spec's cloud names, map keys
/// kept, and wx-server-sdk's rule only for keys the spec does not name. A
/// binary answer is `{contentType, buffer}` with the bytes in base64, as the
/// relay encodes them.
pub(crate) fn cloud_success(info: &EndpointInfo, success: &Success) -> Result<Value, WxError> {
    let mut out = status_map(Form::Cloud, 0, format!("openapi.{}:ok", info.name));
    match success {
        Success::Json(fields) => {
            let http = Value::Object(fields.clone());
            let cloud = (info.convert_answer)(&http, Form::Http, Form::Cloud).map_err(|err| {
                // The emulator's answers are built from the spec's answer
                // fields; one that does not convert is the emulator's fault.
                tracing::error!(endpoint = info.name, %err, "an answer does not match its type");
                WxError::new(
                    -1,
                    format!("system error: the answer does not match the spec: {err}"),
                )
            })?;
            if let Value::Object(cloud) = cloud {
                out.extend(cloud);
            }
        }
        Success::Binary {
            content_type,
            bytes,
        } => {
            if let Value::Object(buffer) =
                protocol::buffer_value(Form::Cloud, content_type.clone(), bytes)
            {
                out.extend(buffer);
            }
        }
    }
    Ok(Value::Object(out))
}
