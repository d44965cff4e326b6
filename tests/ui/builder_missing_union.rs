// A message whose msgtype payload (`body`) was never chosen.
use wechat_msg::CustomerServiceMessage;

fn main() {
    let _ = CustomerServiceMessage::builder().touser("OPENID").build();
}
