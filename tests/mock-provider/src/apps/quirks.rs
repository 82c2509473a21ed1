//! The standard provider with three quirks real apps have in their callback and API:
//!
//! - the authorization code comes back as `spapi_oauth_code`, as Amazon's Selling Partner API names it
//!   (https://developer-docs.amazon.com/sp-api/docs/website-authorization-workflow);
//! - the callback also carries `realmId`, the company the user chose, which the API puts in its paths,
//!   `/v3/company/{realmId}/...`, as QuickBooks Online does
//!   (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0);
//! - the API takes the token in an `Access-Token` header, not `Authorization: Bearer`, as TikTok's business API
//!   does.
//!
//! Authorization, token and revocation requests follow every standard rule (`/oauth/authorize`, `/oauth/token`,
//! `/oauth/revoke`); only the successful redirect is renamed.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::json;
use url::Url;

use super::{check_access_token, json_answer};
use crate::MockProvider;
use crate::endpoints::{authorize, revoke, token};
use crate::store::Shared;

/// The callback's name for the authorization code.
pub const CODE_PARAM: &str = "spapi_oauth_code";
/// The company every authorization is for, sent back as `realmId`.
pub const REALM_ID: &str = "9130354519120496";

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route(MockProvider::AUTHORIZE_PATH, get(renamed_authorize))
        .route(MockProvider::TOKEN_PATH, post(token::token))
        .route(MockProvider::REVOKE_PATH, post(revoke::revoke))
        .route("/v3/company/{realm_id}/companyinfo/{company_id}", get(company_info))
}

/// The standard authorization endpoint, whose successful redirect then names the code `spapi_oauth_code` and
/// adds `realmId`. Refusals are left as they are.
async fn renamed_authorize(shared: State<Shared>, query: RawQuery) -> Response {
    let mut response = authorize::authorize(shared, query).await;
    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).map(Url::parse);
    let Some(Ok(mut location)) = location else {
        return response;
    };
    let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
    if !pairs.iter().any(|(name, _)| name == "code") {
        return response;
    }
    {
        let mut query = location.query_pairs_mut();
        query.clear();
        for (name, value) in &pairs {
            query.append_pair(if name == "code" { CODE_PARAM } else { name }, value);
        }
        query.append_pair("realmId", REALM_ID);
    }
    let value = HeaderValue::from_str(location.as_str()).expect("a serialized URL is a valid header value");
    response.headers_mut().insert(header::LOCATION, value);
    response
}

/// The company's information, for a valid token in `Access-Token` and the realm the user authorized.
async fn company_info(
    State(shared): State<Shared>,
    Path((realm_id, company_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let fault = |status: StatusCode, message: &str| {
        json_answer(status, &json!({"Fault": {"Error": [{"Message": message}], "type": "AUTHENTICATION"}}))
    };
    let Some(token) = headers.get("access-token").and_then(|v| v.to_str().ok()) else {
        let why = if headers.contains_key(header::AUTHORIZATION) {
            "the token goes in an `Access-Token` header, not `Authorization`"
        } else {
            "the `Access-Token` header is missing"
        };
        return fault(StatusCode::UNAUTHORIZED, why);
    };
    if let Err(why) = check_access_token(&shared, token) {
        return fault(StatusCode::UNAUTHORIZED, &why);
    }
    if realm_id != REALM_ID || company_id != REALM_ID {
        return fault(StatusCode::FORBIDDEN, &format!("the token was not authorized for company `{realm_id}`"));
    }
    let info = json!({"CompanyInfo": {"CompanyName": "Keyway Test Co", "Id": REALM_ID, "Country": "US"}});
    json_answer(StatusCode::OK, &info)
}
