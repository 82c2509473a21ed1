//! Support for the workspace-level integration tests in `all/`: the guest components they
//! drive, built from source by this crate's build script.

/// Wasm components built from `plugins/` and `tests/guests/`.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

pub mod postgres;

/// A plain HTTP client for tests that play the browser: it never follows redirects, so the
/// test can read where the provider sends the user.
pub mod http {
    pub use reqwest::Client;

    /// A client that does not follow redirects.
    pub fn client() -> Client {
        Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("reqwest client")
    }
}
