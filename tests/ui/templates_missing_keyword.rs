// A template value whose keyword `shipped_at` was never set: `build()` is a
// compile error naming the keyword.
use wechat_msg::keyword::Thing;

wechat_msg::templates!("ui/templates/shop.toml");

fn main() {
    let _ = OrderShipped::builder()
        .item(Thing::try_from("Blue kettle").unwrap())
        .state(OrderShippedState::try_from("已发货").unwrap())
        .note("fragile".to_owned())
        .build();
}
