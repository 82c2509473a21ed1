//! One module per endpoint. Each handler reads only what it needs and answers a [`crate::server::Refusal`]
//! for every rule the request breaks.

pub(crate) mod api;
pub(crate) mod authorize;
pub(crate) mod revoke;
pub(crate) mod token;
