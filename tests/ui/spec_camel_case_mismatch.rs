// Cloud names that wx-server-sdk does not turn into the HTTP names.
wechat_msg::api!("ui/specs/camel_case_mismatch/api-spec");

fn main() {}
