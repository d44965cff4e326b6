//! The token endpoints as the spec generates them: request types that
//! round-trip and hide the secret, the answer type, `TokenErrcode`, and
//! their place outside the registry of sendable endpoints.

use serde_json::json;
use wechat_msg::meta::{Auth, Location};
use wechat_msg::{
    AUTH_ENDPOINTS, Answer, ENDPOINTS, Endpoint, Errcode, ErrorClass, Form, GrantType,
    StableTokenRequest, TokenAnswer, TokenErrcode, TokenRequest, Wire,
};

const SECRET: &str = "S3CR3T-app-secret-0123456789abcdef";

fn stable() -> StableTokenRequest {
    StableTokenRequest::builder()
        .grant_type(GrantType::ClientCredential)
        .appid("wx0123456789abcdef")
        .secret(SECRET)
        .force_refresh(false)
        .build()
}

#[test]
fn the_stable_request_round_trips_in_the_documented_shape() {
    let request = stable();
    let value = request.to_value(Form::Http);
    assert_eq!(
        value,
        json!({
            "grant_type": "client_credential",
            "appid": "wx0123456789abcdef",
            "secret": SECRET,
            "force_refresh": false,
        })
    );
    assert_eq!(
        StableTokenRequest::from_value(&value, Form::Http).unwrap(),
        request
    );
    let err = StableTokenRequest::from_value(
        &json!({"grant_type": "password", "appid": "a", "secret": "s"}),
        Form::Http,
    )
    .unwrap_err();
    assert_eq!(err.path(), "grant_type", "{err}");
}

#[test]
fn the_classic_request_goes_in_the_query() {
    let info = TokenRequest::INFO;
    assert_eq!((info.method.as_str(), info.path), ("GET", "/cgi-bin/token"));
    assert!(info.fields.iter().all(|f| f.location == Location::Query));
    let request = TokenRequest::builder()
        .grant_type(GrantType::ClientCredential)
        .appid("wx1")
        .secret(SECRET)
        .build();
    let value = request.to_value(Form::Http);
    assert_eq!(
        TokenRequest::from_value(&value, Form::Http).unwrap(),
        request
    );
}

#[test]
fn debug_never_prints_the_secret_nor_the_token() {
    let request = stable();
    let printed = format!("{request:?} {request:#?}");
    assert!(!printed.contains(SECRET), "{printed}");
    assert!(printed.contains("secret: ***"), "{printed}");
    assert!(printed.contains("wx0123456789abcdef"), "{printed}");
    let builder = StableTokenRequest::builder().secret(SECRET);
    assert!(!format!("{builder:?}").contains(SECRET));
    let classic = TokenRequest::builder().secret(SECRET).appid("wx1");
    assert!(!format!("{classic:?}").contains(SECRET));

    let answer = <TokenAnswer as Answer>::from_json(
        &json!({"access_token": SECRET, "expires_in": 7200}),
        Form::Http,
    )
    .unwrap();
    assert_eq!(answer.access_token, SECRET);
    assert_eq!(answer.expires_in, 7200);
    let printed = format!("{answer:?}");
    assert!(!printed.contains(SECRET), "{printed}");
    assert!(printed.contains("7200"), "{printed}");
}

#[test]
fn token_errcodes_come_from_the_spec() {
    for (code, variant) in [
        (40001, TokenErrcode::InvalidCredential),
        (40125, TokenErrcode::InvalidAppSecret),
        (45009, TokenErrcode::DailyQuotaExceeded),
        (89507, TokenErrcode::IpRefusedForAnHour),
    ] {
        assert_eq!(TokenErrcode::from_code(code, ""), variant);
        assert_eq!(variant.code(), code);
    }
    // On the token endpoint 40001 is the AppSecret: refreshing cannot help.
    assert_eq!(
        TokenErrcode::InvalidCredential.info().unwrap().class,
        ErrorClass::Permanent
    );
    assert!(!TokenErrcode::InvalidCredential.invalidates_token());
    assert!(TokenErrcode::SystemBusy.is_retryable());
    // Both endpoints share the enum and its table.
    assert_eq!(StableTokenRequest::INFO.errcodes, TokenErrcode::TABLE);
    assert_eq!(TokenRequest::INFO.errcodes, TokenErrcode::TABLE);
}

#[test]
fn token_endpoints_are_not_in_the_registry_of_sendable_endpoints() {
    // The token endpoints, and clear_quota/v2, which also takes the app's
    // credentials instead of a token (api-spec/openApi.toml).
    let names: Vec<&str> = AUTH_ENDPOINTS.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "openApi.clearQuotaByAppSecret",
            "auth.getAccessToken",
            "auth.getStableAccessToken"
        ]
    );
    for info in AUTH_ENDPOINTS {
        assert_eq!(info.auth, Auth::None, "{}", info.name);
        assert!(!info.cloud, "{}", info.name);
        assert!(
            wechat_msg::meta::endpoint(info.name).is_none(),
            "{}",
            info.name
        );
    }
    // Sent with a token, and cloud calls but for the diagnostics WeChat
    // offers over HTTPS only.
    let https_only = [
        "openApi.getApiQuota",
        "openApi.clearQuota",
        "openApi.getRidInfo",
    ];
    for info in ENDPOINTS {
        assert_eq!(info.auth, Auth::AccessToken, "{}", info.name);
        assert_eq!(
            info.cloud,
            !https_only.contains(&info.name),
            "{}",
            info.name
        );
    }
}
