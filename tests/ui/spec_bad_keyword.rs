// Keyword types with mistakes: each is reported at its line.
wechat_msg::api!("ui/specs/bad_keyword/api-spec");

fn main() {}
