// A spec file that is not TOML (an unclosed string).
wechat_msg::api!("ui/specs/toml_syntax/api-spec");

fn main() {}
