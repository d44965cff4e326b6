// A builder whose required `thumb_url` was never set: `build()` is a compile
// error that names the field.
use wechat_msg::{CustomerServiceMessage, Link};

fn main() {
    let link = Link::builder()
        .title("Happy Day")
        .description("Is Really A Happy Day")
        .url("URL")
        .build();
    let _ = CustomerServiceMessage::builder()
        .touser("OPENID")
        .body(link)
        .build();
}
