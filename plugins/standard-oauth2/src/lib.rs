//! The built-in default plugin: the standard OAuth2 authorization-code flow, exactly as the
//! help article describes it. Every hook is the SDK's default (`keyway_sdk::standard`); an
//! integration with no plugin of its own uses this component.

use keyway_sdk::{Manifest, Plugin, standard};

/// Standard OAuth2, with nothing overridden but the manifest's description.
#[derive(Default)]
struct StandardOAuth2;

impl Plugin for StandardOAuth2 {
    fn manifest(&self) -> Manifest {
        Manifest {
            description: "The standard OAuth2 authorization-code flow, exactly as the help article describes it"
                .to_string(),
            ..standard::manifest()
        }
    }
}

keyway_sdk::export!(StandardOAuth2);
