//! The generated API of this repository's `api-spec/`: request types and
//! their builders, payloads, string enums, errcode enums, and [`ENDPOINTS`].
//! Everything here is re-exported at the crate root.

wechat_msg_macros::api!("../api-spec");
