//! `authorize_url` allocates without bound: the host's memory limit must stop it and fail only
//! that call.

use keyway_sdk::{AuthError, AuthorizeRequest, HookContext, Plugin};

/// Hoards memory in `authorize_url`; every other hook is standard.
#[derive(Default)]
struct GuestAlloc;

impl Plugin for GuestAlloc {
    fn authorize_url(&self, _ctx: &HookContext, _req: &AuthorizeRequest) -> Result<String, AuthError> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            // 1 MiB at a time, touched so it is really committed; `black_box` keeps it alive.
            hoard.push(core::hint::black_box(vec![0xAB; 1 << 20]));
            core::hint::black_box(&hoard);
        }
    }
}

keyway_sdk::export!(GuestAlloc);
