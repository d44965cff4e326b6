// A templates file with mistakes: each is a compile error at its
// FILE:LINE:COL.
wechat_msg::templates!("ui/templates/mistakes.toml");

fn main() {}
