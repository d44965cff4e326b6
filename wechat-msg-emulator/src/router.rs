//! The whole server as one router: WeChat's routes behind the counting,
//! body and fault middleware, and the control API behind the body
//! middleware only.

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::layers::{self, Kind, Side};
use crate::state::Shared;
use crate::{cloud, control, http, rid_log, ui};

/// Every route, with its middleware.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let calls = |kind: Kind| from_fn_with_state((shared.clone(), kind), layers::calls);
    let wechat = Router::new()
        .route(
            "/cgi-bin/token",
            get(http::classic_token)
                .route_layer(calls(Kind::ClassicToken))
                .fallback(|| async { http::wrong_method("GET") }),
        )
        .route(
            "/cgi-bin/stable_token",
            post(http::stable_token)
                .route_layer(calls(Kind::StableToken))
                .fallback(|| async { http::wrong_method("POST") }),
        )
        .route(
            wechat_msg::protocol::INVOKE_PATH,
            post(cloud::invoke)
                .route_layer(calls(Kind::Cloud))
                .fallback(|| async { http::wrong_method("POST") }),
        )
        .route(
            "/cgi-bin/clear_quota/v2",
            post(http::clear_quota_by_secret)
                .route_layer(calls(Kind::Endpoint))
                .fallback(|| async { http::wrong_method("POST") }),
        )
        .fallback(http::endpoint_call.layer(calls(Kind::Endpoint)))
        .layer(from_fn_with_state(shared.clone(), rid_log::record_rids))
        .layer(from_fn_with_state(shared.clone(), layers::observe))
        .layer(from_fn_with_state(
            (shared.clone(), Side::Wechat),
            layers::read_body,
        ))
        .layer(from_fn_with_state(shared.clone(), layers::count_errors));
    let control = control::router()
        .layer(from_fn_with_state(shared.clone(), control::announce))
        .layer(from_fn_with_state(
            (shared.clone(), Side::Control),
            layers::read_body,
        ))
        .merge(ui::router());
    wechat.merge(control).with_state(shared)
}
