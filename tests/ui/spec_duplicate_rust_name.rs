// Two types named `Message`; two fields that are both the Rust field `title`.
wechat_msg::api!("ui/specs/duplicate_rust_name/api-spec");

fn main() {}
