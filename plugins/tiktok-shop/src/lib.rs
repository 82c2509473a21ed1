//! TikTok Shop's Open API (https://partner.tiktokshop.com/docv2/: "Authorization overview", "Get access token",
//! "Refresh access token", "Sign your API request").
//!
//! - Register the integration with the API as its site (`https://open-api.tiktokglobalshop.com`), the authorization
//!   URL `https://auth.tiktok-shops.com/oauth/authorize` and token path `/api/v2/token/get`: the token requests go to
//!   the authorization URL's host, the API calls to the site.
//! - The seller authorizes with `app_key` and `state` only, and comes back to the redirect URL registered in Partner
//!   Center with `code` and `state`: no `redirect_uri`, scope or PKCE.
//! - The tokens come from GETs with the app's key and secret in the query: `/api/v2/token/get?app_key&app_secret&
//!   auth_code&grant_type=authorized_code`, and `/api/v2/token/refresh?app_key&app_secret&refresh_token&
//!   grant_type=refresh_token`. The answer is an envelope, `{code, message, data}`, where a non-zero `code` is an
//!   error even with HTTP 200, and `data`'s `access_token_expire_in` and `refresh_token_expire_in` are Unix times.
//!   The app secret is the integration's client secret.
//! - Every API call carries the token in `x-tts-access-token` and is signed in `sign_request`: `app_key` and
//!   `timestamp` (Unix seconds) join the query, then `sign` = hex HMAC-SHA256, keyed with the app secret, of
//!   `secret + path + {key}{value}… + body + secret`, over the parameters other than `sign` and `access_token` sorted
//!   by name, the body left out for `multipart/form-data`.

use hmac::{Hmac, Mac};
use keyway_sdk::{prelude::*, url};
use sha2::Sha256;

#[derive(Default)]
struct TiktokShop;

impl Plugin for TiktokShop {
    fn manifest(&self) -> Manifest {
        Manifest { pkce: PkceSupport::Unsupported, signs_requests: true, ..standard::manifest() }
    }

    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let i = &ctx.integration;
        Ok(url::append_query(&i.authorization_url, &[("app_key", &i.client_id), ("state", &req.state)]))
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        let i = &ctx.integration;
        let (path, key, value, kind) = match grant {
            Grant::AuthorizationCode(c) => (i.token_path.as_str(), "auth_code", c.code.as_str(), "authorized_code"),
            Grant::Refresh(r) => {
                ("/api/v2/token/refresh", "refresh_token", r.refresh_token.as_deref().unwrap_or(""), "refresh_token")
            }
        };
        let origin = i.authorization_url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
        let query = [("app_key", &*i.client_id), ("app_secret", &*i.client_secret), (key, value), ("grant_type", kind)];
        Ok(HttpRequest::get(url::append_query(&url::join(&origin, path), &query)))
    }

    fn parse_token_response(&self, _: &HookContext, _: &Grant, r: &HttpResponse) -> Result<TokenSet, AuthError> {
        let body = standard::parse_body(r)?;
        if body["code"] != 0 {
            let description = body["message"].as_str().map(String::from);
            return Err(AuthError::Provider(ProviderError { code: body["code"].to_string(), description, uri: None }));
        }
        let data = &body["data"];
        let mut tokens = standard::token_set_from_json(data)?;
        tokens.expiry = data["access_token_expire_in"].as_u64().map(Expiry::ExpiresAt);
        tokens.refresh_expiry = data["refresh_token_expire_in"].as_u64().map(Expiry::ExpiresAt);
        tokens.metadata = standard::metadata_fields(data, &["open_id", "seller_name"]);
        Ok(tokens)
    }

    fn api_auth(&self, _: &HookContext) -> Result<Vec<AuthPlacement>, AuthError> {
        Ok(vec![AuthPlacement::Header(("x-tts-access-token".into(), "{access_token}".into()))])
    }

    fn sign_request(&self, ctx: &HookContext, req: HttpRequest, _: &Credentials) -> Result<HttpRequest, AuthError> {
        let secret = &ctx.integration.client_secret;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (base, _) = req.url.split_once('?').unwrap_or((&req.url, ""));
        let mut params = url::query_pairs(&req.url);
        params.retain(|(name, _)| !["app_key", "timestamp", "sign"].contains(&name.as_str()));
        params.extend([("app_key".into(), ctx.integration.client_id.clone()), ("timestamp".into(), now.to_string())]);
        params.sort();
        let signed: String = params.iter().filter(|(k, _)| k != "access_token").map(|(k, v)| k.clone() + v).collect();
        let multipart = req.header("content-type").is_some_and(|t| t.starts_with("multipart/form-data"));
        let body = String::from_utf8_lossy(&req.body.clone().filter(|_| !multipart).unwrap_or_default()).into_owned();
        let path = base.splitn(4, '/').nth(3).unwrap_or_default();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(format!("{secret}/{path}{signed}{body}{secret}").as_bytes());
        params.push(("sign".into(), hex::encode(mac.finalize().into_bytes())));
        Ok(HttpRequest { url: url::append_query(base, &params), ..req })
    }
}

keyway_sdk::export!(TiktokShop);
