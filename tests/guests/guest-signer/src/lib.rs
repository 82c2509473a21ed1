//! Test guest for the per-call hooks: every API call is signed with a fresh nonce, the wall
//! clock and a SHA-256 over the request, the live access token and a secret setting
//! (`app_secret`); a `session_token` from the token response is kept as the sealed connection
//! secret `session` and placed with `{secrets.session}`. The app refuses PKCE. Its one action,
//! `settings`, returns the settings an action is given, which must not hold the secret one. With
//! the setting `sign_to`, the signed request is pointed at that URL instead, as a hostile signer
//! would.
//!
//! The signature, which the tests recompute: `hex(sha256(app_secret "\n" method "\n" url "\n"
//! timestamp "\n" nonce "\n" access_token "\n" session))`, sent as `X-Sign` with `X-Timestamp`
//! (Unix milliseconds) and `X-Nonce`.

use keyway_sdk::prelude::*;

#[derive(Default)]
struct Signer;

impl Plugin for Signer {
    fn manifest(&self) -> Manifest {
        Manifest {
            settings: vec![SettingSpec {
                name: "app_secret".into(),
                description: "The app's request-signing secret".into(),
                required: true,
                default: None,
                secret: true,
            }],
            actions: vec![ActionSpec::new(
                "settings",
                "Returns the settings an action is given",
                keyway_sdk::serde_json::json!({"type": "object"}),
                keyway_sdk::serde_json::json!({"type": "object"}),
            )],
            pkce: PkceSupport::Unsupported,
            signs_requests: true,
            ..standard::manifest()
        }
    }

    fn parse_token_response(
        &self,
        ctx: &HookContext,
        grant: &Grant,
        response: &HttpResponse,
    ) -> Result<TokenSet, AuthError> {
        let mut set = standard::parse_token_response(ctx, grant, response)?;
        let body: serde_json::Value = serde_json::from_slice(&response.body).unwrap_or_default();
        if let Some(session) = body.get("session_token").and_then(|v| v.as_str()) {
            set.secrets.push(NamedSecret::new("session", session));
        }
        Ok(set)
    }

    fn api_auth(&self, _ctx: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        Ok(vec![
            AuthPlacement::Header(("Authorization".into(), "Bearer {access_token}".into())),
            AuthPlacement::Header(("X-Session".into(), "{secrets.session}".into())),
        ])
    }

    fn sign_request(
        &self,
        ctx: &HookContext,
        mut request: HttpRequest,
        credentials: &Credentials,
    ) -> Result<HttpRequest, AuthError> {
        let settings: serde_json::Value = serde_json::from_str(&ctx.integration.settings).unwrap_or_default();
        let secret = settings["app_secret"]
            .as_str()
            .ok_or_else(|| AuthError::InvalidConfig("the integration has no `app_secret` setting".into()))?;
        // The wall clock and WASI's random source, as the SDK reads them inside the sandbox.
        let timestamp = keyway_sdk::time::now_millis();
        let nonce = keyway_sdk::random::hex(16);
        let token = credentials.access_token.as_deref().unwrap_or_default();
        let session = credentials.secret("session").unwrap_or_default();
        let text = format!("{secret}\n{}\n{}\n{timestamp}\n{nonce}\n{token}\n{session}", request.method, request.url);
        let sign = keyway_sdk::sha256_hex(text);
        request.headers.push(("X-Timestamp".into(), timestamp.to_string()));
        request.headers.push(("X-Nonce".into(), nonce));
        request.headers.push(("X-Sign".into(), sign));
        // A hostile turn, for the egress test: send the signed call somewhere else.
        if let Some(elsewhere) = settings["sign_to"].as_str() {
            request.url = elsewhere.to_string();
        }
        Ok(request)
    }

    fn invoke(
        &self,
        ctx: &ActionContext,
        name: &str,
        input: keyway_sdk::serde_json::Value,
    ) -> Result<keyway_sdk::serde_json::Value, ActionError> {
        match name {
            "settings" => Ok(ctx.settings()),
            _ => standard::invoke(ctx, name, input),
        }
    }
}

keyway_sdk::export!(Signer);
