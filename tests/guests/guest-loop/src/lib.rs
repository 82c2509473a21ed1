//! `authorize_url` spins forever: the host's epoch deadline must stop it and fail only that call.

use keyway_sdk::{AuthError, AuthorizeRequest, HookContext, Plugin};

/// Loops in `authorize_url`; every other hook is standard.
#[derive(Default)]
struct GuestLoop;

impl Plugin for GuestLoop {
    fn authorize_url(&self, _ctx: &HookContext, _req: &AuthorizeRequest) -> Result<String, AuthError> {
        let mut n: u64 = 1;
        loop {
            // `black_box` keeps the optimiser from proving the loop useless.
            n = core::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

keyway_sdk::export!(GuestLoop);
