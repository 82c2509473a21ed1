//! The field map: the standard reading when nothing is customised, and each option.

use serde_json::json;

use super::*;
use crate::standard::tests::context;
use crate::{ClientAuth, CodeGrant, Grant};

fn response(status: u16, body: &Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

fn standard_parse(response: &HttpResponse) -> Result<TokenSet, AuthError> {
    let grant = Grant::AuthorizationCode(CodeGrant { code: "c".into(), redirect_uri: "r".into(), code_verifier: None });
    standard::parse_token_response(&context(ClientAuth::Basic), &grant, response)
}

fn provider(result: Result<TokenSet, AuthError>) -> ProviderError {
    match result {
        Err(AuthError::Provider(error)) => error,
        other => panic!("expected a provider error, got {other:?}"),
    }
}

fn invalid_response(result: Result<TokenSet, AuthError>) -> String {
    match result {
        Err(AuthError::InvalidResponse(message)) => message,
        other => panic!("expected an invalid response, got {other:?}"),
    }
}

#[test]
fn the_standard_map_reads_what_the_standard_parser_reads() {
    let bodies = [
        (
            200,
            json!({"access_token": "at", "refresh_token": "rt", "token_type": "bearer", "expires_in": 3600,
                     "refresh_token_expires_in": "86400", "scope": "read write"}),
        ),
        (200, json!({"access_token": "at", "expires_in": 12.7, "scope": ["a", "b"]})),
        (200, json!({"access_token": "at", "scope": ["", " write ", 7]})),
        (200, json!({"access_token": "at", "expires_in": null})),
        (200, json!({"access_token": "at", "expires_in": "soon"})),
        (200, json!({"access_token": ""})),
        (200, json!({"error": "bad_verification_code", "error_description": "The code is wrong"})),
        (200, json!({"access_token": "at", "error": null})),
        (400, json!({"error": {"code": 190, "message": "Invalid token"}})),
        (500, json!({"access_token": "at"})),
    ];
    for (status, body) in bodies {
        let response = response(status, &body);
        let (ours, standard) = (TokenFields::STANDARD.parse(&response), standard_parse(&response));
        // The same outcome; error wording may differ, since the map names its fields.
        match (&ours, &standard) {
            (Ok(_), _) | (Err(AuthError::Provider(_)), _) => assert_eq!(ours, standard, "{body}"),
            (Err(AuthError::InvalidResponse(_)), Err(AuthError::InvalidResponse(_))) => {}
            _ => panic!("{body}: {ours:?} vs {standard:?}"),
        }
    }
    // A form body too (GitHub's default).
    let form = HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: b"access_token=at&scope=repo&token_type=bearer".to_vec(),
    };
    assert_eq!(TokenFields::STANDARD.parse(&form), standard_parse(&form));
}

#[test]
fn nested_fields_and_arrays_are_found_by_dotted_paths() {
    let body = json!({"data": [{"auth": {"accessToken": "at", "refresh": {"token": "rt"}}, "user": {"id": 7}}]});
    let fields = TokenFields {
        root: "data.0",
        access_token: "auth.accessToken",
        refresh_token: "auth.refresh.token",
        metadata: &["user.id"],
        ..TokenFields::STANDARD
    };
    let tokens = fields.parse(&response(200, &body)).unwrap();
    assert_eq!((tokens.access_token.as_str(), tokens.refresh_token.as_deref()), ("at", Some("rt")));
    assert_eq!(tokens.metadata, [("user.id".to_string(), "7".to_string())]);
    assert_eq!(tokens.token_type, None);
}

#[test]
fn every_expiry_format_becomes_the_expiry_the_host_expects() {
    let cases = [
        (ExpiryFormat::Seconds, json!(3600), Expiry::ExpiresIn(3600)),
        (ExpiryFormat::Seconds, json!("3600"), Expiry::ExpiresIn(3600)),
        (ExpiryFormat::Millis, json!(3_600_999), Expiry::ExpiresIn(3600)),
        (ExpiryFormat::Millis, json!("3600000"), Expiry::ExpiresIn(3600)),
        (ExpiryFormat::EpochSeconds, json!(1_767_225_600), Expiry::ExpiresAt(1_767_225_600)),
        (ExpiryFormat::EpochSeconds, json!("1767225600"), Expiry::ExpiresAt(1_767_225_600)),
        (ExpiryFormat::EpochMillis, json!(1_767_225_600_123_u64), Expiry::ExpiresAt(1_767_225_600)),
        (ExpiryFormat::Rfc3339, json!("2026-01-01T00:00:00Z"), Expiry::ExpiresAt(1_767_225_600)),
        (ExpiryFormat::Rfc3339, json!("2026-01-01T01:00:00.25+01:00"), Expiry::ExpiresAt(1_767_225_600)),
    ];
    for (format, value, expected) in cases {
        let fields = TokenFields { expiry: "exp", expiry_format: format, ..TokenFields::STANDARD };
        let tokens = fields.parse(&response(200, &json!({"access_token": "at", "exp": value}))).unwrap();
        assert_eq!(tokens.expiry, Some(expected), "{format:?} {value}");
        // The refresh token's expiry reads the same way.
        let fields = TokenFields { refresh_expiry: "rexp", refresh_expiry_format: format, ..TokenFields::STANDARD };
        let tokens = fields.parse(&response(200, &json!({"access_token": "at", "rexp": value}))).unwrap();
        assert_eq!(tokens.refresh_expiry, Some(expected), "{format:?} {value}");
    }
}

#[test]
fn an_expiry_in_the_wrong_format_says_which_field_and_what_was_expected() {
    let wrong = [
        (ExpiryFormat::Rfc3339, json!(3600), "an RFC 3339 date-time"),
        (ExpiryFormat::Rfc3339, json!("1969-12-31T23:59:59Z"), "an RFC 3339 date-time"),
        (ExpiryFormat::EpochSeconds, json!("2026-01-01T00:00:00Z"), "a Unix time in seconds"),
        (ExpiryFormat::Seconds, json!(-5), "a number of seconds"),
    ];
    for (format, value, expected) in wrong {
        let fields = TokenFields { expiry: "data.exp", expiry_format: format, ..TokenFields::STANDARD };
        let message =
            invalid_response(fields.parse(&response(200, &json!({"access_token": "at", "data": {"exp": value}}))));
        assert!(message.contains("`data.exp`") && message.contains(expected), "{message}");
        assert!(message.contains("expiry format"), "says what to change: {message}");
    }
    // Missing or null is a token that does not expire; an empty path reads nothing.
    let tokens = TokenFields { expiry: "", ..TokenFields::STANDARD }
        .parse(&response(200, &json!({"access_token": "at", "expires_in": "garbage"})))
        .unwrap();
    assert_eq!(tokens.expiry, None);
}

#[test]
fn comma_separated_scopes_are_split_when_the_map_says_so() {
    let body = json!({"access_token": "at", "scope": "repo,gist user"});
    let space = TokenFields::STANDARD.parse(&response(200, &body)).unwrap();
    assert_eq!(space.scopes, Some(vec!["repo,gist".to_string(), "user".to_string()]));
    let comma = TokenFields { scope_separator: ScopeSeparator::Comma, ..TokenFields::STANDARD };
    assert_eq!(
        comma.parse(&response(200, &body)).unwrap().scopes,
        Some(vec!["repo".into(), "gist".into(), "user".into()])
    );
}

#[test]
fn a_success_condition_turns_an_http_200_error_body_into_the_apps_error() {
    let envelope = TokenFields {
        root: "data",
        success: Some(("code", "0")),
        error: ErrorFields { code: "code", description: "message", uri: "" },
        ..TokenFields::STANDARD
    };
    let ok = json!({"code": 0, "message": "OK", "data": {"access_token": "at"}});
    assert_eq!(envelope.parse(&response(200, &ok)).unwrap().access_token, "at");
    let ok_as_text = json!({"code": "0", "data": {"access_token": "at"}});
    assert_eq!(envelope.parse(&response(200, &ok_as_text)).unwrap().access_token, "at");

    let failed = json!({"code": 40001, "message": "unknown authorization code", "data": {}});
    let error = provider(envelope.parse(&response(200, &failed)));
    assert_eq!((error.code.as_str(), error.description.as_deref()), ("40001", Some("unknown authorization code")));

    let message = invalid_response(envelope.parse(&response(200, &json!({"data": {"access_token": "at"}}))));
    assert!(message.contains("without `code`"), "{message}");

    // A boolean flag, and no error code of the app's own: the flag is quoted.
    let flag = TokenFields { success: Some(("ok", "true")), ..TokenFields::STANDARD };
    let error = provider(flag.parse(&response(200, &json!({"ok": false}))));
    assert_eq!(error.code, "unsuccessful");
    assert!(error.description.as_deref().unwrap().contains("`ok` is false, not true"), "{error:?}");
    // ... but an RFC 6749 `error` is used when the app sends one.
    assert_eq!(
        provider(flag.parse(&response(200, &json!({"ok": false, "error": "invalid_code"})))).code,
        "invalid_code"
    );
    // When the flag says success, an error field is not read.
    assert!(flag.parse(&response(200, &json!({"ok": true, "error": "warning", "access_token": "at"}))).is_ok());
}

#[test]
fn a_non_2xx_status_is_an_error_even_when_the_body_looks_fine() {
    let envelope = TokenFields { success: Some(("code", "0")), ..TokenFields::STANDARD };
    let message = invalid_response(envelope.parse(&response(503, &json!({"code": 0, "access_token": "at"}))));
    assert!(message.contains("HTTP 503"), "{message}");
}

#[test]
fn the_apps_own_error_fields_are_read_before_the_standard_ones() {
    let instagram = TokenFields {
        error: ErrorFields { code: "error_type", description: "error_message", uri: "" },
        ..TokenFields::STANDARD
    };
    let own =
        provider(instagram.parse(&response(400, &json!({"error_type": "OAuthException", "error_message": "bad"}))));
    assert_eq!((own.code.as_str(), own.description.as_deref()), ("OAuthException", Some("bad")));
    let graph = provider(
        instagram
            .parse(&response(400, &json!({"error": {"type": "OAuthException", "code": 190, "message": "expired"}}))),
    );
    assert_eq!((graph.code.as_str(), graph.description.as_deref()), ("190", Some("expired")));
}

#[test]
fn invalid_grant_codes_are_reported_as_invalid_grant_keeping_the_apps_code() {
    let github = TokenFields { invalid_grant: &["bad_refresh_token"], ..TokenFields::STANDARD };
    let body =
        json!({"error": "bad_refresh_token", "error_description": "The refresh token passed is incorrect or expired."});
    let error = provider(github.parse(&response(200, &body)));
    assert_eq!(error.code, "invalid_grant");
    assert_eq!(
        error.description.as_deref(),
        Some("bad_refresh_token: The refresh token passed is incorrect or expired.")
    );
    assert_eq!(
        provider(github.parse(&response(200, &json!({"error": "bad_refresh_token"})))).description.as_deref(),
        Some("bad_refresh_token")
    );
    assert_eq!(provider(github.parse(&response(200, &json!({"error": "other"})))).code, "other");
}

#[test]
fn a_missing_access_token_names_the_path_and_the_fields_there() {
    let fields = TokenFields { root: "data", access_token: "accessToken", ..TokenFields::STANDARD };
    let message = invalid_response(fields.parse(&response(200, &json!({"data": {"access_token": "at", "uid": 1}}))));
    assert!(message.contains("no `accessToken` in data") && message.contains("access_token, uid"), "{message}");
    let message = invalid_response(fields.parse(&response(200, &json!({"data": "nope"}))));
    assert!(message.contains("expected a JSON object at data"), "{message}");
}

#[test]
fn an_empty_error_path_reads_nothing_rather_than_the_whole_body() {
    // `uri: ""` and `description: ""`: the body's own fields must not stand in for them.
    let fields =
        TokenFields { error: ErrorFields { code: "failure", description: "", uri: "" }, ..TokenFields::STANDARD };
    let error = provider(fields.parse(&response(200, &json!({"failure": {"code": "E1"}, "message": "top level"}))));
    assert_eq!((error.code.as_str(), error.description, error.uri), ("E1", None, None));
}
