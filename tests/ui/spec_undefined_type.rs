// References to types no spec file defines.
wechat_msg::api!("ui/specs/undefined_type/api-spec");

fn main() {}
