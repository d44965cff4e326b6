// A keyword given a value of another type (a time for a thing, a plain
// string for a thing) does not compile.
use wechat_msg::keyword::Time;

wechat_msg::templates!("ui/templates/shop.toml");

fn main() {
    let _ = OrderShipped::builder().item(Time::try_from("15:01").unwrap());
    let _ = OrderShipped::builder().item("Blue kettle");
}
