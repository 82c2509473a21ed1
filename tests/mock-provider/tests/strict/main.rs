//! The mock provider's rules, checked over real HTTP: each rule has a request that breaks it and is refused,
//! next to the happy paths.

mod api;
mod authorize;
mod provider;
mod refresh;
mod revoke;
mod support;
mod token;
