// An errcode listed twice in the shared table and twice by an endpoint.
wechat_msg::api!("ui/specs/duplicate_errcode/api-spec");

fn main() {}
