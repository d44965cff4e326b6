// Misused form bodies, joined query lists and verbatim keys.
wechat_msg::api!("ui/specs/form_join_verbatim/api-spec");

fn main() {}
