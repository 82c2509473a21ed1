//! Proves a plugin's formatting reaches the wire: the authorize URL says `client_key` instead of
//! `client_id`, and the token request's form says `auth_code` instead of `code`. Everything else
//! is the standard flow.

use keyway_sdk::{AuthError, AuthorizeRequest, Grant, HookContext, HttpRequest, Plugin, standard, url};

/// The standard flow with two renamed parameters.
#[derive(Default)]
struct GuestRename;

impl Plugin for GuestRename {
    fn authorize_url(&self, ctx: &HookContext, req: &AuthorizeRequest) -> Result<String, AuthError> {
        let url = standard::authorize_url(ctx, req)?;
        Ok(url::rename_query_param(&url, "client_id", "client_key"))
    }

    fn token_request(&self, ctx: &HookContext, grant: &Grant) -> Result<HttpRequest, AuthError> {
        let mut request = standard::token_request(ctx, grant)?;
        request.rename_form_field("code", "auth_code");
        Ok(request)
    }
}

keyway_sdk::export!(GuestRename);
