// A field type the spec format does not have (`int`).
wechat_msg::api!("ui/specs/unknown_type/api-spec");

fn main() {}
