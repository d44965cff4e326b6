//! The generated API of this repository's `api-spec/`: request types and
//! their builders, payloads, string enums, errcode enums, and [`ENDPOINTS`].
//! Everything here is re-exported at the crate root.

// `api-spec` here is a link to the repository's top-level `api-spec/`, where
// maintainers edit it; `cargo package` copies the files into the crate.
wechat_msg_macros::api!("api-spec");
