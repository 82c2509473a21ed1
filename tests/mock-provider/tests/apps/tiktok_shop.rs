//! TikTok Shop mode: https://partner.tiktokshop.com/docv2/ ("Authorization overview", "Sign your API request").

use keyway_mock_provider::apps::tiktok_shop::{
    AUTH_ERROR, AUTHORIZE_PATH, INVALID_SIGNATURE, INVALID_TOKEN, MISSING_SIGNATURE, OPEN_ID, PARAM_ERROR,
    REFRESH_PATH, SHOPS_PATH, TOKEN_PATH, sign,
};
use keyway_mock_provider::{App, Consent, MockConfig};
use reqwest::Method;
use serde_json::Value;

use crate::support::{Harness, REDIRECT_URI, Reply, STATE};
use crate::{changed, get};

async fn shop() -> Harness {
    shop_with(MockConfig::default()).await
}

async fn shop_with(config: MockConfig) -> Harness {
    let redirect_uris = vec![REDIRECT_URI.to_owned()];
    Harness::start(MockConfig { app: App::TiktokShop, redirect_uris, ..config }).await
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

async fn authorize(h: &Harness, set: &[(&str, Option<&str>)]) -> Reply {
    let client_id = h.mock.config().client_id;
    get(h, AUTHORIZE_PATH, &changed(&[("app_key", client_id.as_str()), ("state", STATE)], set)).await
}

async fn code(h: &Harness) -> String {
    let reply = authorize(h, &[]).await;
    assert_eq!(reply.status, 302, "{}", reply.text);
    assert!(reply.location().as_str().starts_with(REDIRECT_URI), "{}", reply.location());
    assert_eq!(reply.location_param("state").as_deref(), Some(STATE));
    reply.location_param("code").expect("a code")
}

/// A GET of `path` with the app's credentials and `set` applied to the query.
async fn credentialed(h: &Harness, path: &str, params: &[(&str, &str)], set: &[(&str, Option<&str>)]) -> Reply {
    let config = h.mock.config();
    let mut query = vec![("app_key", config.client_id.as_str()), ("app_secret", config.client_secret.as_str())];
    query.extend_from_slice(params);
    get(h, path, &changed(&query, set)).await
}

async fn exchange(h: &Harness, code: &str, set: &[(&str, Option<&str>)]) -> Reply {
    credentialed(h, TOKEN_PATH, &[("auth_code", code), ("grant_type", "authorized_code")], set).await
}

async fn refresh(h: &Harness, refresh_token: &str, set: &[(&str, Option<&str>)]) -> Reply {
    credentialed(h, REFRESH_PATH, &[("refresh_token", refresh_token), ("grant_type", "refresh_token")], set).await
}

/// The envelope's `code` and `data`, after checking HTTP 200.
#[track_caller]
fn envelope(reply: &Reply) -> (u64, Value) {
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = reply.json();
    (body["code"].as_u64().expect("a numeric code"), body["data"].clone())
}

async fn tokens(h: &Harness) -> Value {
    let code = code(h).await;
    let (status, data) = envelope(&exchange(h, &code, &[]).await);
    assert_eq!(status, 0, "{data}");
    data
}

/// A signed call to the shops API: `tamper` changes the query after signing.
async fn shops(h: &Harness, token: Option<&str>, timestamp: u64, tamper: &[(&str, Option<&str>)]) -> Reply {
    let config = h.mock.config();
    let timestamp = timestamp.to_string();
    let mut params: Vec<(String, String)> =
        [("app_key", config.client_id.as_str()), ("timestamp", timestamp.as_str()), ("access_token", "ignored")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    params.push(("sign".into(), sign(&config.client_secret, SHOPS_PATH, &params, "")));
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let query = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(changed(&pairs, tamper)).finish();
    let mut call = h.call(Method::GET, &format!("{SHOPS_PATH}?{query}"));
    if let Some(token) = token {
        call = call.header("x-tts-access-token", token);
    }
    call.send(h).await
}

#[test]
fn the_signature_wraps_path_sorted_parameters_and_body_in_the_app_secret() {
    // Computed independently (Python's hmac): `sign` and `access_token` are left out, the rest sorted by name.
    let params: Vec<(String, String)> = [
        ("timestamp", "1700000000"),
        ("app_key", "demo-client"),
        ("shop_cipher", "GCP_X"),
        ("sign", "old"),
        ("access_token", "tok"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        sign("demo-secret with:odd+chars", "/product/202309/products/search", &params, r#"{"page_size":20}"#),
        "cf25a6735a5cc7ac58959c7af357940b5ff3c4cb9f52c0060b7cc8894a8996f8"
    );
}

#[tokio::test]
async fn authorize_takes_the_app_key_and_state_and_returns_to_the_registered_url() {
    let h = shop().await;
    code(&h).await;
    for set in [[("app_key", None)], [("app_key", Some("other"))], [("state", None)]] {
        assert_eq!(authorize(&h, &set).await.status, 400, "{set:?}");
    }
    let unregistered = Harness::start(MockConfig { app: App::TiktokShop, ..MockConfig::default() }).await;
    let reply = authorize(&unregistered, &[]).await;
    assert!(reply.status == 400 && reply.text.contains("redirect URL"), "{}", reply.text);
    let denied = shop_with(MockConfig { consent: Consent::Deny, ..MockConfig::default() }).await;
    assert_eq!(authorize(&denied, &[]).await.location_param("error").as_deref(), Some("access_denied"));
}

#[tokio::test]
async fn the_exchange_answers_unix_expiry_times_in_an_envelope() {
    let h = shop().await;
    let data = tokens(&h).await;
    assert!(data["access_token"].as_str().is_some_and(|t| t.starts_with("mock-at-")), "{data}");
    assert!(data["refresh_token"].as_str().is_some_and(|t| t.starts_with("mock-rt-")), "{data}");
    let expires = data["access_token_expire_in"].as_u64().unwrap();
    assert!(expires > now() && expires <= now() + 3600, "a Unix time, not a duration: {data}");
    assert!(data["refresh_token_expire_in"].as_u64().unwrap() > expires, "{data}");
    assert_eq!(data["open_id"], OPEN_ID);
}

#[tokio::test]
async fn the_exchange_refuses_wrong_credentials_grant_types_and_codes_with_a_nonzero_code() {
    let h = shop().await;
    let code = code(&h).await;
    for (set, expected) in [
        (vec![("app_secret", Some("x"))], AUTH_ERROR),
        (vec![("app_secret", None)], PARAM_ERROR),
        (vec![("grant_type", Some("authorization_code"))], PARAM_ERROR),
        (vec![("auth_code", None), ("code", Some(code.as_str()))], PARAM_ERROR),
        (vec![("auth_code", Some("mock-code-forged"))], AUTH_ERROR),
    ] {
        let (status, _) = envelope(&exchange(&h, &code, &set).await);
        assert_eq!(status, u64::from(expected), "{set:?}");
    }
    assert_eq!(envelope(&exchange(&h, &code, &[]).await).0, 0, "the refusals burned nothing");
    assert_eq!(envelope(&exchange(&h, &code, &[]).await).0, u64::from(AUTH_ERROR), "a code is used once");
}

#[tokio::test]
async fn a_refresh_has_its_own_path_and_keeps_the_refresh_token() {
    let h = shop().await;
    let refresh_token = tokens(&h).await["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        envelope(&refresh(&h, &refresh_token, &[("grant_type", Some("authorized_code"))]).await).0,
        u64::from(PARAM_ERROR)
    );
    assert_eq!(
        envelope(&refresh(&h, &refresh_token, &[("refresh_token", Some("mock-rt-forged"))]).await).0,
        u64::from(AUTH_ERROR)
    );
    let (status, data) = envelope(&refresh(&h, &refresh_token, &[]).await);
    assert_eq!(status, 0, "{data}");
    assert_eq!(data["refresh_token"], refresh_token.as_str());
    let token = data["access_token"].as_str().unwrap();
    assert_eq!(shops(&h, Some(token), now(), &[]).await.status, 200);
}

#[tokio::test]
async fn every_api_call_is_signed_timestamped_and_carries_the_token_header() {
    let h = shop().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let reply = shops(&h, Some(&token), now(), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.json()["data"]["shops"][0]["id"], OPEN_ID);
    // `access_token` is outside the signature: changing it changes nothing.
    assert_eq!(shops(&h, Some(&token), now(), &[("access_token", Some("other"))]).await.status, 200);

    let refused = |reply: Reply, status: u16, code: u32| {
        assert_eq!(reply.status, status, "{}", reply.text);
        assert_eq!(reply.json()["code"], code, "{}", reply.text);
    };
    refused(shops(&h, Some(&token), now(), &[("sign", None)]).await, 400, MISSING_SIGNATURE);
    refused(shops(&h, Some(&token), now(), &[("timestamp", None)]).await, 400, MISSING_SIGNATURE);
    refused(shops(&h, Some(&token), now(), &[("app_key", Some("other"))]).await, 400, MISSING_SIGNATURE);
    refused(shops(&h, Some(&token), now() - 600, &[]).await, 400, MISSING_SIGNATURE);
    refused(shops(&h, Some(&token), now(), &[("sign", Some("0000"))]).await, 400, INVALID_SIGNATURE);
    refused(shops(&h, Some(&token), now(), &[("shop_cipher", Some("added"))]).await, 400, INVALID_SIGNATURE);
    refused(shops(&h, None, now(), &[]).await, 401, INVALID_TOKEN);
    refused(shops(&h, Some("mock-at-unknown"), now(), &[]).await, 401, INVALID_TOKEN);
}

#[tokio::test]
async fn the_body_is_signed_unless_it_is_multipart() {
    let h = shop().await;
    let token = tokens(&h).await["access_token"].as_str().unwrap().to_owned();
    let config = h.mock.config();
    let timestamp = now().to_string();
    let params: Vec<(String, String)> =
        vec![("app_key".into(), config.client_id.clone()), ("timestamp".into(), timestamp.clone())];
    let body = r#"{"page_size":20}"#;
    let post = |signature: String, content_type: &str| {
        let query = format!("app_key={}&timestamp={timestamp}&sign={signature}", config.client_id);
        h.call(Method::POST, &format!("{SHOPS_PATH}?{query}"))
            .header("x-tts-access-token", &token)
            .header("content-type", content_type)
            .raw_body(body)
    };
    let with_body = sign(&config.client_secret, SHOPS_PATH, &params, body);
    let without = sign(&config.client_secret, SHOPS_PATH, &params, "");
    assert_eq!(post(with_body.clone(), "application/json").send(&h).await.status, 200);
    assert_eq!(post(without.clone(), "application/json").send(&h).await.status, 400);
    assert_eq!(post(without, "multipart/form-data; boundary=x").send(&h).await.status, 200);
    assert_eq!(post(with_body, "multipart/form-data; boundary=x").send(&h).await.status, 400);
}
