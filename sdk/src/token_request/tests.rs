//! The request-shape builder: the standard request when nothing is customised, and each option
//! byte for byte.

use serde_json::{Value, json};

use super::*;
use crate::standard::{self, tests::context};
use crate::{CodeGrant, RefreshGrant};

fn code(verifier: Option<&str>) -> Grant {
    Grant::AuthorizationCode(CodeGrant {
        code: "the code".into(),
        redirect_uri: "https://keyway.test/oauth".into(),
        code_verifier: verifier.map(str::to_string),
    })
}

fn refresh(token: Option<&str>) -> Grant {
    Grant::Refresh(RefreshGrant { refresh_token: token.map(str::to_string), access_token: "at-old".into() })
}

fn body(request: &HttpRequest) -> &str {
    std::str::from_utf8(request.body.as_deref().unwrap_or_default()).unwrap()
}

fn json_body(request: &HttpRequest) -> Value {
    serde_json::from_slice(request.body.as_deref().expect("a body")).unwrap()
}

fn header_names(request: &HttpRequest) -> Vec<&str> {
    request.headers.iter().map(|(name, _)| name.as_str()).collect()
}

#[test]
fn the_standard_shape_is_exactly_the_standard_request_for_every_client_auth_and_grant() {
    let grants = [code(None), code(Some("verifier-1")), refresh(Some("rt-1"))];
    for client_auth in [ClientAuth::Basic, ClientAuth::Post, ClientAuth::BasicAndPost] {
        let ctx = context(client_auth);
        for grant in &grants {
            let expected = standard::token_request(&ctx, grant).unwrap();
            assert_eq!(TokenRequest::STANDARD.build(&ctx, grant).unwrap(), expected, "{client_auth:?} {grant:?}");
            assert_eq!(TokenRequest::default().build(&ctx, grant).unwrap(), expected);
        }
        let missing = TokenRequest::STANDARD.build(&ctx, &refresh(None)).unwrap_err();
        assert_eq!(missing, standard::token_request(&ctx, &refresh(None)).unwrap_err());
    }
}

#[test]
fn json_is_the_standard_request_turned_to_json() {
    // What plugins did before the builder: the standard request, then `form_to_json_body`.
    for client_auth in [ClientAuth::Basic, ClientAuth::Post] {
        let ctx = context(client_auth);
        for grant in [code(Some("v")), refresh(Some("rt-1"))] {
            let mut expected = standard::token_request(&ctx, &grant).unwrap();
            expected.form_to_json_body();
            let shape = TokenRequest { body: Body::Json, ..TokenRequest::STANDARD };
            assert_eq!(shape.build(&ctx, &grant).unwrap(), expected);
        }
    }
    let shape = TokenRequest { body: Body::Json, ..TokenRequest::STANDARD };
    let request = shape.build(&context(ClientAuth::Post), &code(None)).unwrap();
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        json_body(&request),
        json!({"code": "the code", "redirect_uri": "https://keyway.test/oauth", "grant_type": "authorization_code",
               "client_id": "client-1", "client_secret": "secret-1"})
    );
}

#[test]
fn client_credentials_go_where_the_shape_says_whatever_the_integration_says() {
    let ctx = context(ClientAuth::Basic);
    let with = |client| TokenRequest { client, ..TokenRequest::STANDARD }.build(&ctx, &code(None)).unwrap();
    let code_form = "code=the+code&redirect_uri=https%3A%2F%2Fkeyway.test%2Foauth&grant_type=authorization_code";

    let in_body = with(ClientCredentials::Body);
    assert_eq!(body(&in_body), format!("{code_form}&client_id=client-1&client_secret=secret-1"));
    assert_eq!(header_names(&in_body), ["Accept", "Content-Type"]);

    let in_query = with(ClientCredentials::Query);
    assert_eq!(in_query.url, "https://app.test/login/oauth/access_token?client_id=client-1&client_secret=secret-1");
    assert_eq!(body(&in_query), code_form);
    assert_eq!(header_names(&in_query), ["Accept", "Content-Type"]);

    let basic = with(ClientCredentials::Basic);
    assert_eq!(basic, standard::token_request(&ctx, &code(None)).unwrap());

    let post_ctx = context(ClientAuth::Post);
    let basic_over_post = TokenRequest { client: ClientCredentials::Basic, ..TokenRequest::STANDARD };
    let request = basic_over_post.build(&post_ctx, &code(None)).unwrap();
    assert_eq!(body(&request), code_form);
    assert_eq!(request.header("authorization"), Some("Basic Y2xpZW50LTE6c2VjcmV0LTE="));

    let none = with(ClientCredentials::None);
    assert_eq!((body(&none), none.header("authorization")), (code_form, None));
}

#[test]
fn fields_are_dropped_renamed_and_set_in_place_or_at_the_end() {
    let ctx = context(ClientAuth::Post);
    let shape = TokenRequest {
        drop: &["grant_type", "redirect_uri"],
        rename: &[("code", "auth_code"), ("client_id", "app_id")],
        set: &[("client_secret", "replaced"), ("type", "oauth")],
        ..TokenRequest::STANDARD
    };
    let request = shape.build(&ctx, &code(None)).unwrap();
    assert_eq!(body(&request), "auth_code=the+code&app_id=client-1&client_secret=replaced&type=oauth");

    let refresh_shape = TokenRequest { drop: &["grant_type"], set: &[("type", "refresh")], ..TokenRequest::STANDARD };
    let request = refresh_shape.build(&ctx, &refresh(Some("rt 1"))).unwrap();
    assert_eq!(body(&request), "refresh_token=rt+1&client_id=client-1&client_secret=secret-1&type=refresh");

    // Renames apply to credentials in the query too.
    let query_shape = TokenRequest {
        client: ClientCredentials::Query,
        rename: &[("client_id", "app_key")],
        ..TokenRequest::STANDARD
    };
    let request = query_shape.build(&ctx, &refresh(Some("rt"))).unwrap();
    assert!(request.url.ends_with("?app_key=client-1&client_secret=secret-1"), "{}", request.url);
}

#[test]
fn a_refresh_goes_to_its_own_url_and_a_code_to_the_shared_one() {
    let ctx = context(ClientAuth::Basic);
    let shape = TokenRequest { refresh_url: Some("https://app.test/refresh"), ..TokenRequest::STANDARD };
    assert_eq!(shape.build(&ctx, &code(None)).unwrap().url, "https://app.test/login/oauth/access_token");
    assert_eq!(shape.build(&ctx, &refresh(Some("rt"))).unwrap().url, "https://app.test/refresh");

    let both = TokenRequest { url: Some("https://acme.app.test/token"), ..TokenRequest::STANDARD };
    assert_eq!(both.build(&ctx, &code(None)).unwrap().url, "https://acme.app.test/token");
    assert_eq!(both.build(&ctx, &refresh(Some("rt"))).unwrap().url, "https://acme.app.test/token");
}

#[test]
fn a_tiktok_shape_is_the_json_tiktok_wants() {
    // What the TikTok plugin sent before the builder, field for field.
    let ctx = context(ClientAuth::Basic);
    let shape = TokenRequest {
        body: Body::Json,
        client: ClientCredentials::Body,
        drop: &["code_verifier"],
        rename: &[("code", "auth_code")],
        refresh_url: Some("https://app.test/refresh_token/"),
        ..TokenRequest::STANDARD
    };
    let exchange = shape.build(&ctx, &code(Some("verifier"))).unwrap();
    let before = json!({"grant_type": "authorization_code", "auth_code": "the code",
                        "redirect_uri": "https://keyway.test/oauth", "client_id": "client-1", "client_secret": "secret-1"});
    assert_eq!(body(&exchange), before.to_string(), "the same bytes");
    assert_eq!(exchange.header("authorization"), None);
    let refreshed = shape.build(&ctx, &refresh(Some("rt-1"))).unwrap();
    let before = json!({"grant_type": "refresh_token", "refresh_token": "rt-1", "client_id": "client-1",
                        "client_secret": "secret-1"});
    assert_eq!(
        (refreshed.url.as_str(), body(&refreshed)),
        ("https://app.test/refresh_token/", before.to_string().as_str())
    );
}
