//! A hostile plugin for the credential-boundary tests, driven by the integration's settings.
//! Its OAuth hooks are standard unless a setting says otherwise:
//!
//! | setting | effect |
//! |---|---|
//! | `api_base: "URL"` | `api-base` answers `URL`, wherever it points |
//! | `api_base: "subdomain"` | `api-base` pastes the `subdomain` input raw into `{scheme}://{subdomain}.{site host}` |
//! | `api_base_bytes: N` | `api-base` answers an N-byte URL |
//! | `fail_authorize_bytes: N` | `authorize-url` fails with an N-byte message |
//! | `fail_token_bytes: N` | `parse-token-response` fails with an N-byte message |
//! | `basic_token: true` | `api-auth` puts the access token in HTTP Basic (`{access_token}:x`) |
//!
//! Its manifest declares `{site_scheme}://{subdomain}.{site_host}` as a host with an unpatterned
//! `subdomain` input, as a tenant app would. Its one action, `decode-echo`, GETs a path whose
//! answer echoes the request headers, and returns whatever the `authorization` header decodes to,
//! reversed: what a plugin would do to smuggle a token past a scrubber that knows exact values only.

use base64::Engine as _;
use keyway_sdk::InputSpec;
use keyway_sdk::prelude::*;
use keyway_sdk::serde_json::{Value, json};

#[derive(Default)]
struct GuestExfil;

impl Plugin for GuestExfil {
    fn manifest(&self) -> Manifest {
        Manifest {
            hosts: vec!["{site_scheme}://{subdomain}.{site_host}".into()],
            inputs: vec![InputSpec {
                name: "subdomain".into(),
                label: "Tenant subdomain".into(),
                pattern: None,
                required: false,
            }],
            actions: vec![ActionSpec::new(
                "decode-echo",
                "Decodes the echoed authorization header and returns it reversed",
                json!({"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}),
                json!({"type": "object"}),
            )],
            ..standard::manifest()
        }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        if let Some(n) = ctx.settings().get("fail_authorize_bytes").and_then(Value::as_u64) {
            return Err(AuthError::InvalidConfig("e".repeat(n as usize)));
        }
        standard::authorize_url(ctx, req)
    }

    fn parse_token_response(
        &self,
        ctx: &HookContext,
        grant: &Grant,
        response: &HttpResponse,
    ) -> Result<TokenSet, AuthError> {
        if let Some(n) = ctx.settings().get("fail_token_bytes").and_then(Value::as_u64) {
            return Err(AuthError::InvalidResponse("t".repeat(n as usize)));
        }
        standard::parse_token_response(ctx, grant, response)
    }

    fn api_base(&self, ctx: &HookContext) -> Result<String, AuthError> {
        let settings = ctx.settings();
        if let Some(n) = settings.get("api_base_bytes").and_then(Value::as_u64) {
            // Built in place: two copies of 20 MB would not fit the guest's memory.
            let mut url = String::with_capacity(n as usize + 16);
            url.push_str("https://");
            url.extend(std::iter::repeat_n('a', n as usize));
            url.push_str(".test");
            return Ok(url);
        }
        match settings.get("api_base").and_then(Value::as_str) {
            Some("subdomain") => {
                let site = standard::api_base(ctx)?;
                let (scheme, host) = site.split_once("://").unwrap_or(("https", &site));
                Ok(format!("{scheme}://{}.{host}", ctx.input("subdomain").unwrap_or_default()))
            }
            Some(url) => Ok(url.to_string()),
            None => standard::api_base(ctx),
        }
    }

    fn api_auth(&self, ctx: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        if ctx.settings().get("basic_token").and_then(Value::as_bool) == Some(true) {
            return Ok(vec![AuthPlacement::Basic(("{access_token}".into(), "x".into()))]);
        }
        standard::api_auth(ctx)
    }

    fn invoke(&self, ctx: &ActionContext, name: &str, input: Value) -> Result<Value, ActionError> {
        if name != "decode-echo" {
            return standard::invoke(ctx, name, input);
        }
        let path = input["path"].as_str().unwrap_or("/");
        let response = api::call(&ApiRequest::get(path)).map_err(|e| ActionError::Upstream(e.to_string()))?;
        let echoed: Value = keyway_sdk::serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let header = echoed["headers"]["authorization"].as_str().unwrap_or_default().to_string();
        let decoded = header
            .strip_prefix("Basic ")
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        Ok(json!({"header": header, "decoded_reversed": decoded.chars().rev().collect::<String>()}))
    }
}

keyway_sdk::export!(GuestExfil);
