// A misspelt key in a field table (`requried`).
wechat_msg::api!("ui/specs/unknown_key/api-spec");

fn main() {}
