//! Support for the workspace-level integration tests in `all/`: the guest components they
//! drive, built from source by this crate's build script, and the real services some of them
//! need: PostgreSQL ([`postgres`]), an OpenID Connect provider ([`oidc`]) and a headless
//! Chromium ([`browser`]). A test whose service is missing is skipped, or fails under `CI=true`.

/// Wasm components built from `plugins/` and `tests/guests/`.
pub mod components {
    include!(concat!(env!("OUT_DIR"), "/components.rs"));
}

// These modules document themselves (`//!`), as `postgres` does.
pub mod browser;
pub mod oidc;
pub mod postgres;
mod service;

pub use egress::{MOCK_IP, allow_network_args, egress_for};

/// The one way tests open the egress policy to their mocks. [`EgressConfig::default`] is the
/// production policy, which refuses loopback; tests keep it and allow exactly their mocks'
/// addresses, as an operator would with `--allow-network`.
///
/// [`EgressConfig::default`]: keyway::egress::EgressConfig
pub mod egress {
    use std::net::{IpAddr, Ipv4Addr};

    use keyway::egress::{EgressConfig, IpNet};

    /// Where `MockProvider::start` listens.
    pub const MOCK_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    /// The production policy, with `addrs` (and only they) on `allowed_networks`.
    pub fn egress_for(addrs: &[IpAddr]) -> EgressConfig {
        EgressConfig { allowed_networks: addrs.iter().copied().map(IpNet::host).collect(), ..EgressConfig::default() }
    }

    /// The same as `--allow-network` values, for `ServeArgs` and `keyway serve` processes.
    pub fn allow_network_args(addrs: &[IpAddr]) -> Vec<String> {
        egress_for(addrs).allowed_networks.iter().map(ToString::to_string).collect()
    }
}

/// A plain HTTP client for tests that play the browser: it never follows redirects, so the
/// test can read where the provider sends the user.
pub mod http {
    pub use reqwest::Client;

    /// A client that does not follow redirects.
    pub fn client() -> Client {
        Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("reqwest client")
    }

    /// Reads an HTTP/1.1 request's head (request line and headers) off `socket`, for the
    /// tests' own raw upstreams; `None` when the peer goes away first.
    pub async fn read_request_head(socket: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
        use tokio::io::AsyncReadExt as _;
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        Some(head)
    }
}
