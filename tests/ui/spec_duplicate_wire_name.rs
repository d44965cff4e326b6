// Two fields under one key, in each form; a payload key that is also a field key.
wechat_msg::api!("ui/specs/duplicate_wire_name/api-spec");

fn main() {}
