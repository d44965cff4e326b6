//! Template management and updatable messages: the crate's client against
//! the emulator over both transports, with WeChat's rules and errcodes, and
//! the templates' control API.

use std::time::Duration;

use serde_json::{Value, json};
use wechat_msg::client::{CloudFunction, RetryPolicy};
use wechat_msg::{
    AddTemplate, CreateActivityId, DeleteTemplate, Errcode, GetCategory, GetPubTemplateKeywords,
    GetPubTemplateTitles, GetTemplateList, SetUpdatableMsg, SubscribeMessage, UpdatableParameter,
    UpdatableTemplateInfo,
};
use wechat_msg::{Client, Via};
use wechat_msg_emulator::{Config, Emulator};

fn both() -> [Via; 2] {
    [
        Via::Http,
        Via::Cloud(CloudFunction::new("test-env", "wxmsg-relay")),
    ]
}

fn client(emu: &Emulator, via: Via) -> Client {
    Client::builder()
        .base_url(emu.base_url())
        .credentials(emu.app().appid.clone(), emu.app().secret.clone())
        .retry(RetryPolicy::new(
            1,
            Duration::from_millis(1),
            Duration::from_millis(5),
        ))
        .timeout(Duration::from_secs(30))
        .via(via)
        .build()
        .expect("a client")
}

/// The errcode of a call that must fail.
async fn errcode<T: wechat_msg::Endpoint>(client: &Client, request: &T) -> i64 {
    match client.send(request).await {
        Ok(_) => panic!("{} was accepted", T::INFO.name),
        Err(err) => err
            .errcode()
            .map(|c| c.code())
            .unwrap_or_else(|| panic!("{}: not an errcode: {err}", T::INFO.name)),
    }
}

fn add(tid: &str, kids: &[i64]) -> AddTemplate {
    AddTemplate::builder()
        .tid(tid)
        .kid_list(kids.to_vec())
        .scene_desc("会议")
        .build()
}

fn send(template_id: &str, data: &[(&str, &str)]) -> SubscribeMessage {
    SubscribeMessage::builder()
        .touser("OPENID")
        .template_id(template_id)
        .data(data.iter().copied())
        .build()
}

#[tokio::test]
async fn the_library_is_browsed_and_a_template_composed_over_both_transports() {
    for via in both() {
        let emu = Emulator::start(Config::default()).await.unwrap();
        let client = client(&emu, via);

        let categories = client.send(&GetCategory::builder().build()).await.unwrap();
        let ids: Vec<i64> = categories.data.iter().map(|c| c.id).collect();
        assert_eq!(ids, [2, 616]);

        let titles = client
            .send(
                &GetPubTemplateTitles::builder()
                    .ids(vec![2, 616])
                    .start(0)
                    .limit(1)
                    .build(),
            )
            .await
            .unwrap();
        assert_eq!(titles.count, 2, "both categories' templates count");
        assert_eq!(titles.data.len(), 1, "a page of one");
        assert_eq!(titles.data[0].tid, 99);
        assert_eq!(titles.data[0].category_id, "616");
        let second = client
            .send(
                &GetPubTemplateTitles::builder()
                    .ids(vec![2])
                    .start(0)
                    .limit(30)
                    .build(),
            )
            .await
            .unwrap();
        assert_eq!(second.data[0].tid, 401);
        assert_eq!(second.data[0].title, "会议提醒");

        let keywords = client
            .send(&GetPubTemplateKeywords::builder().tid("401").build())
            .await
            .unwrap();
        assert_eq!(keywords.count, Some(5));
        assert_eq!(keywords.data[1].rule, "time");

        // Keywords 3 (a thing) and 2 (a time), in that order.
        let added = client.send(&add("401", &[3, 2])).await.unwrap();
        let list = client
            .send(&GetTemplateList::builder().build())
            .await
            .unwrap();
        let template = list
            .data
            .iter()
            .find(|t| t.pri_tmpl_id == added.pri_tmpl_id)
            .expect("the new template is listed");
        assert_eq!(template.title, "会议提醒");
        assert_eq!(
            template.content,
            "会议地点:{{thing3.DATA}}\n会议时间:{{time2.DATA}}"
        );
        assert_eq!(
            template.example.as_deref(),
            Some("会议地点:三楼会议室\n会议时间:15:01")
        );
        assert_eq!(template.template_type, 2);
        assert_eq!(
            list.data[0].pri_tmpl_id, "TEMPLATE_ID",
            "the built-in one first"
        );

        // Its id is one subscribeMessage.send takes once the user
        // subscribes, until it is deleted.
        emu.subscribe("OPENID", &added.pri_tmpl_id, Some(1))
            .await
            .unwrap();
        let message = send(
            &added.pri_tmpl_id,
            &[("thing3", "三楼"), ("time2", "15:01")],
        );
        client.send(&message).await.unwrap();
        let delete = DeleteTemplate::builder()
            .pri_tmpl_id(added.pri_tmpl_id.clone())
            .build();
        client.send(&delete).await.unwrap();
        assert_eq!(errcode(&client, &delete).await, 40037);
        assert_eq!(errcode(&client, &message).await, 40037);
        emu.shutdown().await;
    }
}

#[tokio::test]
async fn add_template_refuses_as_wechat_does() {
    let mut config = Config::default();
    config.templates.max_private = 2;
    let emu = Emulator::start(config).await.unwrap();
    for via in both() {
        emu.reset();
        let client = client(&emu, via);
        assert_eq!(errcode(&client, &add("12345", &[1, 2])).await, 200014);
        assert_eq!(
            errcode(&client, &add("401", &[1])).await,
            200020,
            "one keyword"
        );
        assert_eq!(
            errcode(&client, &add("401", &[1, 2, 3, 4, 5, 1])).await,
            200020,
            "six"
        );
        assert_eq!(
            errcode(&client, &add("401", &[1, 1])).await,
            200020,
            "twice"
        );
        assert_eq!(
            errcode(&client, &add("401", &[1, 9])).await,
            200020,
            "no kid 9"
        );
        let long_scene = AddTemplate::builder()
            .tid("401")
            .kid_list(vec![1, 2])
            .scene_desc("一二三四五六七八九十一二三四五六")
            .build();
        assert_eq!(errcode(&client, &long_scene).await, 200021);
        client.send(&add("401", &[1, 2])).await.unwrap();
        assert_eq!(errcode(&client, &add("401", &[1, 2])).await, 200022);
        // TEMPLATE_ID and the one just added: the quota of 2 is reached.
        assert_eq!(errcode(&client, &add("401", &[2, 1])).await, 200012);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn title_pages_and_keywords_are_checked() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        let client = client(&emu, via);
        let titles = |ids: Vec<i64>, start: i64, limit: i64| {
            GetPubTemplateTitles::builder()
                .ids(ids)
                .start(start)
                .limit(limit)
                .build()
        };
        assert_eq!(errcode(&client, &titles(vec![], 0, 1)).await, 200018);
        assert_eq!(errcode(&client, &titles(vec![2, 7], 0, 1)).await, 200019);
        assert_eq!(errcode(&client, &titles(vec![2], -1, 1)).await, 200016);
        assert_eq!(errcode(&client, &titles(vec![2], 0, 31)).await, 200017);
        assert_eq!(errcode(&client, &titles(vec![2], 0, 0)).await, 200017);
        let past_the_end = client.send(&titles(vec![2], 5, 30)).await.unwrap();
        assert_eq!((past_the_end.count, past_the_end.data.len()), (1, 0));
        let unknown = GetPubTemplateKeywords::builder().tid("7").build();
        assert_eq!(errcode(&client, &unknown).await, 200014);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn an_enum_keyword_takes_only_its_values() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        let client = client(&emu, via);
        // The README's example still goes through.
        client
            .send(&send("TEMPLATE_ID", &[("thing1", "Your order shipped")]))
            .await
            .unwrap();
        client
            .send(&send("TEMPLATE_ID", &[("phrase5", "进行中")]))
            .await
            .unwrap();
        let err = client
            .send(&send("TEMPLATE_ID", &[("phrase5", "取消")]))
            .await
            .unwrap_err();
        let rejection = err.rejection().expect("a rejection");
        assert_eq!(rejection.errcode.code(), 47003);
        assert!(
            // Over HTTP as WeChat words it; the cloud call prefixes it.
            rejection
                .errmsg
                .contains("argument invalid! data.phrase5.value invalid rid: "),
            "{}",
            rejection.errmsg
        );
    }
    let list = emu.templates();
    assert_eq!(list[0].id, "TEMPLATE_ID");
    assert!(list[0].content.contains("{{thing1.DATA}}"));
    assert!(list[0].content.contains("{{time2.DATA}}"));
    emu.shutdown().await;
}

#[tokio::test]
async fn known_template_ids_of_old_configurations_are_private_templates() {
    let config = Config::from_toml("[known]\ntemplate_ids = [\"OLD_ID\"]\n").unwrap();
    let emu = Emulator::start(config).await.unwrap();
    let old = client(&emu, Via::Http);
    emu.subscribe("OPENID", "OLD_ID", None).await.unwrap();
    old.send(&send("OLD_ID", &[("thing1", "x")])).await.unwrap();
    old.send(&send("TEMPLATE_ID", &[("thing1", "x")]))
        .await
        .unwrap();
    emu.add_template_id("LATER_ID");
    let list = old.send(&GetTemplateList::builder().build()).await.unwrap();
    let ids: Vec<&str> = list.data.iter().map(|t| t.pri_tmpl_id.as_str()).collect();
    assert_eq!(ids, ["TEMPLATE_ID", "OLD_ID", "LATER_ID"]);
    emu.shutdown().await;

    // A configuration with its own templates knows only those (and the
    // known ids); a bad one is refused with the reason.
    let config = Config::from_toml(
        "[known]\ntemplate_ids = []\n[[templates.private]]\nid = \"MINE\"\ncontent = \"状态:{{phrase1.DATA}}\"\nenums = { phrase1 = [\"开\"] }\n",
    )
    .unwrap();
    let emu = Emulator::start(config).await.unwrap();
    let mine = client(&emu, Via::Http);
    assert_eq!(errcode(&mine, &send("TEMPLATE_ID", &[])).await, 40037);
    assert_eq!(
        errcode(&mine, &send("MINE", &[("phrase1", "关")])).await,
        47003
    );
    // The built-in subscription went with the built-in template.
    assert!(emu.subscriptions("OPENID").is_empty());
    assert_eq!(
        errcode(&mine, &send("MINE", &[("phrase1", "开")])).await,
        43101
    );
    emu.subscribe("OPENID", "MINE", None).await.unwrap();
    mine.send(&send("MINE", &[("phrase1", "开")]))
        .await
        .unwrap();
    emu.shutdown().await;
    let err = Config::from_toml("[[templates.private]]\nid = \"X\"\ntype = 4\n").unwrap_err();
    assert!(
        err.to_string()
            .contains("type must be 2 (one-time) or 3 (long-term), not 4"),
        "{err}"
    );
    let err = Config::from_toml(
        "[[templates.library]]\ntid = 1\ntitle = \"t\"\ntype = 2\ncategory_id = 5\nkeywords = []\n",
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("category_id 5 is not in templates.categories"),
        "{err}"
    );
}

#[tokio::test]
async fn a_form_body_and_a_json_body_are_both_accepted() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    let http = reqwest::Client::new();
    let token: Value = http
        .get(format!(
            "{}/cgi-bin/token?grant_type=client_credential&appid={}&secret={}",
            emu.base_url(),
            emu.app().appid,
            emu.app().secret
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!(
        "{}/wxaapi/newtmpl/addtemplate?access_token={}",
        emu.base_url(),
        token["access_token"].as_str().unwrap()
    );
    let form: Value = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("tid=401&kidList=1&kidList=2&sceneDesc=%E4%BC%9A%E8%AE%AE")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(form["errcode"], 0, "{form}");
    let json: Value = http
        .post(&url)
        .json(&json!({"tid": "401", "kidList": [1, 3]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["errcode"], 0, "{json}");
    let bad: Value = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("tid=401&kidList=one&kidList=2")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["errcode"], 47001, "{bad}");
    let errmsg = bad["errmsg"].as_str().unwrap();
    assert!(
        errmsg.starts_with("data format error: kidList[0]: expected an integer, found a string"),
        "{errmsg}"
    );
    let recorded = emu.messages();
    assert_eq!(
        recorded[0].body,
        json!({"tid": "401", "kidList": [1, 2], "sceneDesc": "会议"})
    );
    emu.shutdown().await;
}

#[tokio::test]
async fn the_templates_control_api() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    let http = reqwest::Client::new();
    let base = format!("{}/_emulator/templates", emu.base_url());
    let added: Value = http
        .post(&base)
        .json(&json!({"id": "CTRL", "title": "t", "content": "a:{{thing1.DATA}}", "type": 2}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(added, json!({"ok": true, "id": "CTRL"}));
    let listed: Value = http.get(&base).send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = listed["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["TEMPLATE_ID", "CTRL"]);
    let client = client(&emu, Via::Http);
    emu.subscribe("OPENID", "CTRL", None).await.unwrap();
    client
        .send(&send("CTRL", &[("thing1", "x")]))
        .await
        .unwrap();

    let refused = http
        .post(&base)
        .json(&json!({"id": "BAD", "type": 9}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "type: 2 (one-time) or 3 (long-term), not 9");

    let deleted = http.delete(format!("{base}/CTRL")).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let again = http.delete(format!("{base}/CTRL")).send().await.unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(errcode(&client, &send("CTRL", &[])).await, 40037);
    emu.shutdown().await;
}

fn parameters(pairs: &[(&str, &str)]) -> UpdatableTemplateInfo {
    UpdatableTemplateInfo::builder()
        .parameter_list(
            pairs
                .iter()
                .map(|(name, value)| {
                    UpdatableParameter::builder()
                        .name(*name)
                        .value(*value)
                        .build()
                })
                .collect::<Vec<_>>(),
        )
        .build()
}

fn set(activity_id: &str, state: i64, pairs: &[(&str, &str)]) -> SetUpdatableMsg {
    SetUpdatableMsg::builder()
        .activity_id(activity_id)
        .target_state(state)
        .template_info(parameters(pairs))
        .build()
}

const PROGRESS: &[(&str, &str)] = &[("member_count", "2"), ("room_limit", "5")];
const STARTED: &[(&str, &str)] = &[("path", "pages/index"), ("version_type", "release")];

#[tokio::test]
async fn an_activity_goes_from_in_progress_to_started_and_no_further() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        let client = client(&emu, via);
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let created = client
            .send(&CreateActivityId::builder().openid("OPENID").build())
            .await
            .unwrap();
        let expiry = created.expiration_time - before;
        assert!(
            (24 * 3600 - 60..=24 * 3600 + 60).contains(&expiry),
            "expires in {expiry} s"
        );
        let id = created.activity_id.as_str();
        let stranger = CreateActivityId::builder().openid("NOBODY").build();
        assert_eq!(errcode(&client, &stranger).await, 40003, "an unknown user");
        assert_eq!(errcode(&client, &set("nope", 0, PROGRESS)).await, 47501);
        assert_eq!(errcode(&client, &set(id, 2, PROGRESS)).await, 47502);
        assert_eq!(
            errcode(&client, &set(id, 0, &[("member_count", "2")])).await,
            47001
        );
        assert_eq!(
            errcode(
                &client,
                &set(id, 0, &[("member_count", "two"), ("room_limit", "5")])
            )
            .await,
            47001
        );
        assert_eq!(errcode(&client, &set(id, 1, &[("path", "p")])).await, 47001);
        assert_eq!(
            errcode(
                &client,
                &set(id, 1, &[("path", "p"), ("version_type", "beta")])
            )
            .await,
            47503
        );
        client.send(&set(id, 0, PROGRESS)).await.unwrap();
        client
            .send(&set(id, 0, &[("member_count", "3"), ("room_limit", "5")]))
            .await
            .unwrap();
        client.send(&set(id, 1, STARTED)).await.unwrap();
        assert_eq!(
            errcode(&client, &set(id, 1, STARTED)).await,
            47502,
            "1 is final"
        );
        assert_eq!(errcode(&client, &set(id, 0, PROGRESS)).await, 47502);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn an_activity_id_expires_after_24_hours_of_emulator_time() {
    let emu = Emulator::start(Config::default()).await.unwrap();
    for via in both() {
        let client = client(&emu, via);
        let id = client
            .send(&CreateActivityId::builder().build())
            .await
            .unwrap()
            .activity_id;
        emu.advance_clock(Duration::from_secs(24 * 3600 - 120));
        client.send(&set(&id, 0, PROGRESS)).await.unwrap();
        emu.advance_clock(Duration::from_secs(121));
        assert_eq!(errcode(&client, &set(&id, 0, PROGRESS)).await, 47504);
    }
    emu.shutdown().await;
}

/// The errcodes are typed: the enum of each endpoint names them.
#[test]
fn errcodes_are_typed() {
    use wechat_msg::{
        SubscribeMessageAddTemplateErrcode as Add, UpdatableMessageSetUpdatableMsgErrcode as Set,
    };
    assert!(matches!(Add::from_code(200022, ""), Add::DuplicateTemplate));
    assert!(matches!(
        Add::from_code(200012, ""),
        Add::TemplateQuotaReached
    ));
    assert!(matches!(Set::from_code(47504, ""), Set::ActivityIdExpired));
    assert!(matches!(Set::from_code(44002, ""), Set::EmptyPostData));
}
