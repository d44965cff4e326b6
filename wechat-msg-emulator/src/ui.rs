//! The web UI at `/_emulator/ui/`: a chat view to play a user in, and side
//! panels of the app's world, updated live from `GET /_emulator/events`.
//!
//! Its three files are compiled into the crate (`ui/` beside `src/`):
//! nothing is built, fetched from elsewhere or needed at run time. The page
//! uses only the control API, so whatever it can do a script can too, with
//! the same errors. Its Content-Security-Policy lets it load nothing but
//! its own files and talk to nothing but the emulator; text from outside is
//! always set as text, never as markup.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::error::ControlError;
use crate::state::Shared;

const INDEX: &str = include_str!("../ui/index.html");
const SCRIPT: &str = include_str!("../ui/app.js");
const STYLE: &str = include_str!("../ui/app.css");

/// What the page may load and connect to: itself, and images it made
/// (`blob:` and `data:` previews of a picked file).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; \
    frame-ancestors 'none'; base-uri 'none'";

/// The UI's routes, and the media route its images come from.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/_emulator/ui",
            get(|| async { Redirect::permanent("/_emulator/ui/") }),
        )
        .route(
            "/_emulator/ui/",
            get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/_emulator/ui/app.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/_emulator/ui/app.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
        .route("/_emulator/media/{id}", get(media))
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /_emulator/media/{id}`: a medium the emulator holds (an upload, a
/// registered file, an image a user sent from the UI), as its content type.
async fn media(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.media(&id) {
        Some((content_type, bytes)) => {
            let mut response = axum::body::Bytes::copy_from_slice(&bytes).into_response();
            let headers = response.headers_mut();
            // Served as data only: never as a page of this origin.
            let kind = if content_type.starts_with("image/") {
                HeaderValue::from_str(&content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream"))
            } else {
                HeaderValue::from_static("application/octet-stream")
            };
            headers.insert(header::CONTENT_TYPE, kind);
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            );
            response
        }
        None => ControlError {
            status: StatusCode::NOT_FOUND,
            message: format!("no medium {id:?}"),
        }
        .into_response(),
    }
}
