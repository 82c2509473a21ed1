//! The standard flow against the help article's requests, byte for byte.

use serde_json::json;

use super::*;
use crate::{CodeGrant, RefreshGrant};

const REDIRECT: &str = "https://keyway.test/oauth";

/// A GitHub-like integration with the given client authentication.
pub(crate) fn context(client_auth: ClientAuth) -> HookContext {
    HookContext {
        integration: Integration {
            auth_method: AuthMethod::Oauth2,
            client_id: "client-1".into(),
            client_secret: "secret-1".into(),
            site: "https://app.test".into(),
            authorization_url: "https://app.test/login/oauth/authorize".into(),
            token_path: "/login/oauth/access_token".into(),
            revoke_path: Some("/oauth/revoke".into()),
            scopes: vec!["read:user".into(), "repo".into()],
            client_auth,
            pkce: false,
            settings: "{}".into(),
        },
        inputs: vec![("tenant".into(), "acme".into())],
        metadata: vec![("realmId".into(), "42".into())],
    }
}

fn authorize(code_challenge: Option<&str>) -> AuthorizeRequest {
    AuthorizeRequest {
        redirect_uri: REDIRECT.into(),
        state: "st4te".into(),
        code_challenge: code_challenge.map(str::to_string),
    }
}

fn code_grant(code_verifier: Option<&str>) -> Grant {
    Grant::AuthorizationCode(CodeGrant {
        code: "the-code".into(),
        redirect_uri: REDIRECT.into(),
        code_verifier: code_verifier.map(str::to_string),
    })
}

fn refresh_grant(refresh_token: Option<&str>) -> Grant {
    Grant::Refresh(RefreshGrant { refresh_token: refresh_token.map(str::to_string), access_token: "at-old".into() })
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn body_text(request: &HttpRequest) -> &str {
    std::str::from_utf8(request.body.as_deref().expect("a body")).unwrap()
}

fn response(status: u16, content_type: Option<&str>, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: content_type.map(|ct| vec![("content-type".to_string(), ct.to_string())]).unwrap_or_default(),
        body: body.as_bytes().to_vec(),
    }
}

fn parse(response: &HttpResponse) -> Result<TokenSet, AuthError> {
    parse_token_response(&context(ClientAuth::Basic), &code_grant(None), response)
}

const FORM: &str = "application/x-www-form-urlencoded";
const ACCEPT_JSON: (&str, &str) = ("Accept", "application/json");
const CONTENT_TYPE_FORM: (&str, &str) = ("Content-Type", FORM);
const BASIC_CLIENT_1: (&str, &str) = ("Authorization", "Basic Y2xpZW50LTE6c2VjcmV0LTE=");
const CODE_FORM: &str = "code=the-code&redirect_uri=https%3A%2F%2Fkeyway.test%2Foauth&grant_type=authorization_code";

#[test]
fn authorize_url_sends_every_parameter_in_the_article_order() {
    let url = authorize_url(&context(ClientAuth::Basic), &authorize(None)).unwrap();
    assert_eq!(
        url,
        "https://app.test/login/oauth/authorize?scope=read%3Auser+repo&response_type=code\
         &client_id=client-1&redirect_uri=https%3A%2F%2Fkeyway.test%2Foauth&state=st4te"
    );
}

#[test]
fn authorize_url_adds_the_s256_challenge_with_pkce() {
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let url = authorize_url(&context(ClientAuth::Basic), &authorize(Some(challenge))).unwrap();
    assert_eq!(
        url,
        "https://app.test/login/oauth/authorize?scope=read%3Auser+repo&response_type=code\
         &client_id=client-1&redirect_uri=https%3A%2F%2Fkeyway.test%2Foauth&state=st4te\
         &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );
}

#[test]
fn authorize_url_extends_an_existing_query_and_omits_scope_without_scopes() {
    let mut ctx = context(ClientAuth::Basic);
    ctx.integration.authorization_url = "https://app.test/authorize?audience=api".into();
    ctx.integration.scopes.clear();
    let url = authorize_url(&ctx, &authorize(None)).unwrap();
    assert_eq!(
        url,
        "https://app.test/authorize?audience=api&response_type=code&client_id=client-1\
         &redirect_uri=https%3A%2F%2Fkeyway.test%2Foauth&state=st4te"
    );
}

#[test]
fn renaming_client_id_in_the_standard_url_keeps_everything_else() {
    let url = authorize_url(&context(ClientAuth::Basic), &authorize(None)).unwrap();
    assert_eq!(
        url::rename_query_param(&url, "client_id", "client_key"),
        "https://app.test/login/oauth/authorize?scope=read%3Auser+repo&response_type=code\
         &client_key=client-1&redirect_uri=https%3A%2F%2Fkeyway.test%2Foauth&state=st4te"
    );
}

#[test]
fn token_request_with_basic_auth_is_the_articles_second_request() {
    let request = token_request(&context(ClientAuth::Basic), &code_grant(None)).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://app.test/login/oauth/access_token");
    assert_eq!(request.headers, headers(&[ACCEPT_JSON, CONTENT_TYPE_FORM, BASIC_CLIENT_1]));
    assert_eq!(body_text(&request), CODE_FORM);
}

#[test]
fn token_request_with_post_auth_sends_credentials_in_the_body_only() {
    let request = token_request(&context(ClientAuth::Post), &code_grant(None)).unwrap();
    assert_eq!(request.headers, headers(&[ACCEPT_JSON, CONTENT_TYPE_FORM]));
    assert_eq!(body_text(&request), format!("{CODE_FORM}&client_id=client-1&client_secret=secret-1"));
}

#[test]
fn token_request_with_basic_and_post_sends_both() {
    let request = token_request(&context(ClientAuth::BasicAndPost), &code_grant(None)).unwrap();
    assert_eq!(request.headers, headers(&[ACCEPT_JSON, CONTENT_TYPE_FORM, BASIC_CLIENT_1]));
    assert_eq!(body_text(&request), format!("{CODE_FORM}&client_id=client-1&client_secret=secret-1"));
}

#[test]
fn token_request_with_pkce_sends_the_verifier_before_body_credentials() {
    let request = token_request(&context(ClientAuth::Post), &code_grant(Some("verifier-1"))).unwrap();
    assert_eq!(
        body_text(&request),
        format!("{CODE_FORM}&code_verifier=verifier-1&client_id=client-1&client_secret=secret-1")
    );
}

#[test]
fn token_request_for_a_refresh_sends_the_refresh_token() {
    let request = token_request(&context(ClientAuth::BasicAndPost), &refresh_grant(Some("rt 1"))).unwrap();
    assert_eq!(request.url, "https://app.test/login/oauth/access_token");
    assert_eq!(request.headers, headers(&[ACCEPT_JSON, CONTENT_TYPE_FORM, BASIC_CLIENT_1]));
    assert_eq!(
        body_text(&request),
        "grant_type=refresh_token&refresh_token=rt+1&client_id=client-1&client_secret=secret-1"
    );
}

#[test]
fn token_request_for_a_refresh_without_refresh_token_asks_to_reconnect() {
    let error = token_request(&context(ClientAuth::Basic), &refresh_grant(None)).unwrap_err();
    assert!(
        matches!(&error, AuthError::InvalidConfig(m) if m.contains("no refresh token") && m.contains("reconnect")),
        "{error:?}"
    );
}

#[test]
fn token_request_form_encodes_client_credentials_per_rfc_6749_2_3_1() {
    let mut ctx = context(ClientAuth::BasicAndPost);
    ctx.integration.client_id = "my id:1".into();
    ctx.integration.client_secret = "p+w d:x".into();
    let request = token_request(&ctx, &code_grant(None)).unwrap();
    // base64("my+id%3A1:p%2Bw+d%3Ax")
    assert_eq!(request.header("authorization"), Some("Basic bXkraWQlM0ExOnAlMkJ3K2QlM0F4"));
    assert_eq!(body_text(&request), format!("{CODE_FORM}&client_id=my+id%3A1&client_secret=p%2Bw+d%3Ax"));
}

#[test]
fn token_url_tolerates_slashes_on_both_sides() {
    let mut ctx = context(ClientAuth::Basic);
    ctx.integration.site = "https://app.test/".into();
    ctx.integration.token_path = "oauth/token".into();
    let request = token_request(&ctx, &code_grant(None)).unwrap();
    assert_eq!(request.url, "https://app.test/oauth/token");
}

#[test]
fn json_token_response_becomes_a_token_set() {
    let body = r#"{"access_token":"at-1","refresh_token":"rt-1","token_type":"bearer",
                   "expires_in":3600,"scope":"read:user repo","refresh_token_expires_in":"15897600"}"#;
    let tokens = parse(&response(200, Some("application/json; charset=utf-8"), body)).unwrap();
    assert_eq!(
        tokens,
        TokenSet {
            access_token: "at-1".into(),
            refresh_token: Some("rt-1".into()),
            token_type: Some("bearer".into()),
            expiry: Some(Expiry::ExpiresIn(3600)),
            scopes: Some(vec!["read:user".into(), "repo".into()]),
            metadata: vec![],
            refresh_expiry: Some(Expiry::ExpiresIn(15_897_600)),
            secrets: vec![],
        }
    );
}

#[test]
fn minimal_json_token_response_leaves_the_rest_empty() {
    let tokens = parse(&response(200, Some("application/json"), r#"{"access_token":"at-1"}"#)).unwrap();
    assert_eq!(
        tokens,
        TokenSet {
            access_token: "at-1".into(),
            refresh_token: None,
            token_type: None,
            expiry: None,
            scopes: None,
            metadata: vec![],
            refresh_expiry: None,
            secrets: vec![],
        }
    );
}

#[test]
fn form_token_response_is_read_like_json_with_expires_in_as_a_string() {
    let body = "access_token=at-1&scope=repo%2Cgist&token_type=bearer&expires_in=28800&refresh_token=rt+1";
    let tokens = parse(&response(200, Some("application/x-www-form-urlencoded; charset=utf-8"), body)).unwrap();
    assert_eq!(tokens.access_token, "at-1");
    assert_eq!(tokens.refresh_token.as_deref(), Some("rt 1"));
    assert_eq!(tokens.expiry, Some(Expiry::ExpiresIn(28800)));
    assert_eq!(tokens.scopes, Some(vec!["repo,gist".to_string()]));
}

#[test]
fn bodies_with_a_wrong_or_missing_content_type_are_sniffed() {
    let form = parse(&response(200, Some("text/plain"), "access_token=at-form&expires_in=60")).unwrap();
    assert_eq!((form.access_token.as_str(), form.expiry), ("at-form", Some(Expiry::ExpiresIn(60))));
    let json = parse(&response(200, None, r#" {"access_token":"at-json","expires_in":"120"} "#)).unwrap();
    assert_eq!((json.access_token.as_str(), json.expiry), ("at-json", Some(Expiry::ExpiresIn(120))));
    let mislabelled = parse(&response(200, Some("application/json"), "access_token=at-2")).unwrap();
    assert_eq!(mislabelled.access_token, "at-2");
}

#[test]
fn expires_in_accepts_numeric_strings_and_fractions_and_rejects_the_rest() {
    for (expires_in, seconds) in [(json!("3600"), 3600), (json!(" 59 "), 59), (json!(3599.9), 3599), (json!("1.5"), 1)]
    {
        let tokens = token_set_from_json(&json!({"access_token": "a", "expires_in": expires_in})).unwrap();
        assert_eq!(tokens.expiry, Some(Expiry::ExpiresIn(seconds)), "{expires_in}");
    }
    assert_eq!(token_set_from_json(&json!({"access_token": "a", "expires_in": null})).unwrap().expiry, None);
    for bad in [json!("soon"), json!(-5), json!(true)] {
        let error = token_set_from_json(&json!({"access_token": "a", "expires_in": bad})).unwrap_err();
        assert!(matches!(&error, AuthError::InvalidResponse(m) if m.contains("expires_in")), "{error:?}");
    }
}

#[test]
fn invalid_grant_400_is_a_provider_error() {
    let body =
        r#"{"error":"invalid_grant","error_description":"The code has expired","error_uri":"https://app.test/docs"}"#;
    assert_eq!(
        parse(&response(400, Some("application/json"), body)).unwrap_err(),
        AuthError::Provider(ProviderError {
            code: "invalid_grant".into(),
            description: Some("The code has expired".into()),
            uri: Some("https://app.test/docs".into()),
        })
    );
}

#[test]
fn an_error_field_in_a_200_is_a_provider_error() {
    let json = parse(&response(200, Some("application/json"), r#"{"ok":false,"error":"invalid_code"}"#));
    assert_eq!(
        json.unwrap_err(),
        AuthError::Provider(ProviderError { code: "invalid_code".into(), description: None, uri: None })
    );
    // GitHub answers a bad code with HTTP 200 and a form body.
    let form = parse(&response(
        200,
        Some(FORM),
        "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.",
    ));
    assert_eq!(
        form.unwrap_err(),
        AuthError::Provider(ProviderError {
            code: "bad_verification_code".into(),
            description: Some("The code passed is incorrect or expired.".into()),
            uri: None,
        })
    );
}

#[test]
fn nested_error_objects_are_read() {
    let body = json!({"error": {"code": 190, "message": "Invalid OAuth access token"}});
    assert_eq!(
        provider_error(&body),
        Some(ProviderError { code: "190".into(), description: Some("Invalid OAuth access token".into()), uri: None })
    );
    assert_eq!(provider_error(&json!({"error": null, "access_token": "a"})), None);
}

#[test]
fn garbage_body_is_an_invalid_response_quoting_status_and_body() {
    let html = format!("<html><body>{}</body></html>", "Bad Gateway ".repeat(40));
    let error = parse(&response(502, Some("text/html"), &html)).unwrap_err();
    let AuthError::InvalidResponse(message) = &error else {
        panic!("expected InvalidResponse, got {error:?}");
    };
    assert!(message.contains("HTTP 502"), "{message}");
    assert!(message.contains("<html><body>Bad Gateway"), "{message}");
    assert!(message.ends_with('…') && message.len() < 400, "not truncated: {message}");
}

#[test]
fn non_2xx_without_an_error_field_is_an_invalid_response() {
    let error = parse(&response(401, Some("application/json"), r#"{"message":"Bad credentials"}"#)).unwrap_err();
    assert!(
        matches!(&error, AuthError::InvalidResponse(m) if m.contains("HTTP 401") && m.contains("Bad credentials")),
        "{error:?}"
    );
}

#[test]
fn missing_access_token_lists_the_fields_present() {
    let error =
        parse(&response(200, Some("application/json"), r#"{"data":{"access_token":"a"},"ok":true}"#)).unwrap_err();
    assert_eq!(
        error,
        AuthError::InvalidResponse("the token response has no `access_token` (its fields: data, ok)".into())
    );
}

#[test]
fn nested_tokens_reuse_parse_body_and_token_set_from_json() {
    let body =
        parse_body(&response(200, Some("application/json"), r#"{"data":{"access_token":"a","expires_in":"10"}}"#))
            .unwrap();
    let tokens = token_set_from_json(&body["data"]).unwrap();
    assert_eq!((tokens.access_token.as_str(), tokens.expiry), ("a", Some(Expiry::ExpiresIn(10))));
}

#[test]
fn revoke_request_is_rfc_7009_with_the_token_request_client_auth() {
    let target =
        RevokeTarget { token: "rt-1".into(), token_type_hint: "refresh_token".into(), access_token: "at-1".into() };
    let request = revoke_request(&context(ClientAuth::BasicAndPost), &target).unwrap().expect("a request");
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "https://app.test/oauth/revoke");
    assert_eq!(request.headers, headers(&[ACCEPT_JSON, CONTENT_TYPE_FORM, BASIC_CLIENT_1]));
    assert_eq!(
        body_text(&request),
        "token=rt-1&token_type_hint=refresh_token&client_id=client-1&client_secret=secret-1"
    );
}

#[test]
fn revoke_request_is_none_without_a_revoke_path() {
    let target =
        RevokeTarget { token: "rt-1".into(), token_type_hint: "refresh_token".into(), access_token: "at-1".into() };
    let mut ctx = context(ClientAuth::Basic);
    ctx.integration.revoke_path = None;
    assert_eq!(revoke_request(&ctx, &target).unwrap(), None);
    ctx.integration.revoke_path = Some(" ".into());
    assert_eq!(revoke_request(&ctx, &target).unwrap(), None);
}

#[test]
fn callback_reads_the_code_or_the_providers_error() {
    let query = headers(&[("code", "c-1"), ("state", "s")]);
    assert_eq!(
        parse_callback(&context(ClientAuth::Basic), &query).unwrap(),
        CallbackResult { code: "c-1".into(), metadata: vec![] }
    );
    let denied = headers(&[("error", "access_denied"), ("error_description", "The user said no"), ("state", "s")]);
    assert_eq!(
        parse_callback(&context(ClientAuth::Basic), &denied).unwrap_err(),
        AuthError::Provider(ProviderError {
            code: "access_denied".into(),
            description: Some("The user said no".into()),
            uri: None,
        })
    );
    let renamed = headers(&[("spapi_oauth_code", "c-2"), ("state", "s")]);
    assert_eq!(parse_callback_with(&renamed, "spapi_oauth_code").unwrap().code, "c-2");
}

#[test]
fn callback_without_code_names_the_parameters_it_had() {
    let query = headers(&[("state", "s"), ("shop", "x.myshopify.com")]);
    let error = parse_callback(&context(ClientAuth::Basic), &query).unwrap_err();
    assert!(
        matches!(&error, AuthError::InvalidResponse(m) if m.starts_with("the callback had no `code` parameter (it had: state, shop)")),
        "{error:?}"
    );
}

#[test]
fn api_base_and_api_auth_follow_the_auth_method() {
    let mut ctx = context(ClientAuth::Basic);
    ctx.integration.site = "https://app.test/".into();
    assert_eq!(api_base(&ctx).unwrap(), "https://app.test");
    assert_eq!(
        api_auth(&ctx).unwrap(),
        [AuthPlacement::Header(("Authorization".into(), "Bearer {access_token}".into()))]
    );
    ctx.integration.auth_method = AuthMethod::Token;
    assert_eq!(
        api_auth(&ctx).unwrap(),
        [AuthPlacement::Header(("Authorization".into(), "Bearer {access_token}".into()))]
    );
    ctx.integration.auth_method = AuthMethod::Basic;
    assert_eq!(api_auth(&ctx).unwrap(), [AuthPlacement::Basic(("{username}".into(), "{password}".into()))]);
}

#[test]
fn manifest_is_empty_but_for_the_callback_names() {
    let manifest = manifest();
    assert!(manifest.name.is_empty() && manifest.version.is_empty() && manifest.description.is_empty());
    assert!(manifest.hosts.is_empty() && manifest.inputs.is_empty());
    assert!(manifest.settings.is_empty() && manifest.actions.is_empty());
    assert_eq!((manifest.callback.code.as_str(), manifest.callback.state.as_str()), ("code", "state"));
}

#[test]
fn context_helpers_find_inputs_metadata_and_settings() {
    let mut ctx = context(ClientAuth::Basic);
    ctx.integration.settings = r#"{"region":"eu"}"#.into();
    assert_eq!(ctx.input("tenant"), Some("acme"));
    assert_eq!(ctx.input("missing"), None);
    assert_eq!(ctx.metadata("realmId"), Some("42"));
    assert_eq!(ctx.settings(), json!({"region": "eu"}));
    ctx.integration.settings = String::new();
    assert_eq!(ctx.settings(), json!({}));
    assert_eq!(ctx.integration.revoke_url().as_deref(), Some("https://app.test/oauth/revoke"));
}

#[test]
fn debug_redacts_secrets() {
    let ctx = context(ClientAuth::Basic);
    let printed = format!("{ctx:?} {:?} {:?}", code_grant(Some("verifier-1")), refresh_grant(Some("rt-1")));
    for secret in ["secret-1", "the-code", "verifier-1", "rt-1", "at-old"] {
        assert!(!printed.contains(secret), "{secret} leaked: {printed}");
    }
    assert!(printed.contains("client-1"), "{printed}");
    let tokens = token_set_from_json(&json!({"access_token": "at-9", "refresh_token": "rt-9"})).unwrap();
    let printed = format!("{tokens:?} {:?}", authorize(Some("challenge-9")));
    for secret in ["at-9", "rt-9", "st4te", "challenge-9"] {
        assert!(!printed.contains(secret), "{secret} leaked: {printed}");
    }
}

#[test]
fn errors_display_as_sentences() {
    let provider = AuthError::Provider(ProviderError {
        code: "invalid_grant".into(),
        description: Some("expired".into()),
        uri: Some("https://app.test/docs".into()),
    });
    assert_eq!(
        provider.to_string(),
        "the provider returned an error `invalid_grant`: expired (see https://app.test/docs)"
    );
    let transport: AuthError = crate::HttpError::Denied("http://evil.test is not allowed".into()).into();
    assert_eq!(
        transport,
        AuthError::Transport("denied by the host's egress policy: http://evil.test is not allowed".into())
    );
    assert_eq!(crate::HttpError::Timeout.to_string(), "timed out waiting for the answer");
}

#[test]
fn split_scopes_accepts_commas_spaces_and_both() {
    assert_eq!(split_scopes("repo,gist"), ["repo", "gist"]);
    assert_eq!(split_scopes("read write"), ["read", "write"]);
    assert_eq!(split_scopes(" a, b,,c  d "), ["a", "b", "c", "d"]);
    assert!(split_scopes("").is_empty());
}

#[test]
fn metadata_fields_keep_scalars_and_walk_dotted_names() {
    let body = json!({
        "workspace_id": "w-1", "bot_id": "b-1", "count": 3, "ok": true, "none": null,
        "team": {"id": "T1", "name": "Acme"}, "owner": {"type": "user"}
    });
    assert_eq!(
        metadata_fields(
            &body,
            &["workspace_id", "bot_id", "count", "ok", "none", "owner", "team.id", "team.x", "nope"]
        ),
        [
            ("workspace_id".to_string(), "w-1".to_string()),
            ("bot_id".to_string(), "b-1".to_string()),
            ("count".to_string(), "3".to_string()),
            ("ok".to_string(), "true".to_string()),
            ("team.id".to_string(), "T1".to_string()),
        ]
    );
    assert!(metadata_fields(&json!("not an object"), &["a"]).is_empty());
}

#[test]
fn setting_str_reads_string_settings_only() {
    let mut ctx = context(ClientAuth::Basic);
    assert_eq!(ctx.setting_str("version"), None);
    ctx.integration.settings = r#"{"version": "2022-06-28", "count": 3}"#.into();
    assert_eq!(ctx.setting_str("version").as_deref(), Some("2022-06-28"));
    assert_eq!(ctx.setting_str("count"), None);
}

#[test]
fn authorize_url_with_standard_options_is_the_standard_url() {
    let ctx = context(ClientAuth::Basic);
    for challenge in [None, Some("ch4llenge")] {
        let standard = authorize_url(&ctx, &authorize(challenge)).unwrap();
        assert_eq!(authorize_url_with(&ctx, &authorize(challenge), &AuthorizeOptions::STANDARD).unwrap(), standard);
        assert_eq!(authorize_url_with(&ctx, &authorize(challenge), &AuthorizeOptions::default()).unwrap(), standard);
    }
}

#[test]
fn authorize_url_with_joins_scopes_renames_the_client_id_and_appends_extras() {
    let ctx = context(ClientAuth::Basic);
    let options = AuthorizeOptions {
        scope_separator: ",",
        client_id_param: "client_key",
        extra: &[("owner", "user"), ("prompt", "consent")],
    };
    let url = authorize_url_with(&ctx, &authorize(Some("ch")), &options).unwrap();
    assert_eq!(
        url,
        "https://app.test/login/oauth/authorize?scope=read%3Auser%2Crepo&response_type=code&client_key=client-1\
         &redirect_uri=https%3A%2F%2Fkeyway.test%2Foauth&state=st4te&code_challenge=ch&code_challenge_method=S256\
         &owner=user&prompt=consent"
    );
    // The same bytes the plugins built by hand: the standard URL with `scope` replaced.
    let by_hand = url::replace_query_param(&authorize_url(&ctx, &authorize(None)).unwrap(), "scope", "read:user,repo");
    let comma = AuthorizeOptions { scope_separator: ",", ..AuthorizeOptions::STANDARD };
    assert_eq!(authorize_url_with(&ctx, &authorize(None), &comma).unwrap(), by_hand);

    let mut no_scopes = context(ClientAuth::Basic);
    no_scopes.integration.scopes.clear();
    let url = authorize_url_with(&no_scopes, &authorize(None), &comma).unwrap();
    assert!(!url.contains("scope"), "no scopes, no `scope`: {url}");
}

#[test]
fn a_scope_list_drops_blank_and_non_string_entries() {
    // Found by the token_response fuzzer: a blank entry became an empty scope.
    let answer = response(200, Some("application/json"), r#"{"access_token":"at","scope":["", " write ", 7]}"#);
    assert_eq!(parse(&answer).unwrap().scopes, Some(vec!["write".to_string()]));
}
