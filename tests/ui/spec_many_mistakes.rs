// Eight mistakes in two files: every one is reported by the one macro call.
wechat_msg::api!("ui/specs/many_mistakes/api-spec");

fn main() {}
