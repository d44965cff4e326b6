// A union variant without a payload type.
wechat_msg::api!("ui/specs/variant_without_payload/api-spec");

fn main() {}
