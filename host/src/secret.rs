//! Secret newtypes.
//!
//! Every secret the host handles gets its own type, so it cannot be logged or returned by
//! accident: `Debug` prints a placeholder, there is no `Display`, and the value is reached
//! only through `.secret()`, which is easy to grep for in review.
//!
//! Every such type in the host comes from `secret_type!`: the ones here, and a few kept
//! beside their one user (`keys::ApiKey`, `crypto::MasterKey`, `cli::SecretArg`).

/// Declares a secret newtype: redacted `Debug`, no `Display`, a `.secret()` accessor.
///
/// - `secret_type!(/// docs\n Name)`: a text secret. `new`, plus `From<String>`, `From<&str>`
///   and an infallible `FromStr` (so clap can take one as an argument); equality compares values.
/// - `secret_type!(/// docs\n Name: [u8; N])`: key material of a fixed size, overwritten with
///   zeros when dropped. No equality, so no comparison that stops at the first differing byte.
macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value itself. Call only where the value must leave the host's
            /// memory: on the wire, or into the encrypted store.
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_string())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self(value.to_string()))
            }
        }

        $crate::secret::secret_type!(@debug $name);
    };
    ($(#[$doc:meta])* $name:ident: [u8; $len:literal]) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name([u8; $len]);

        impl $name {
            /// Wraps key material.
            pub fn new(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// The key material itself. Call only where it is used: to key a cipher, or to
            /// write the key file.
            pub fn secret(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl Drop for $name {
            fn drop(&mut self) {
                zeroize::Zeroize::zeroize(&mut self.0);
            }
        }

        $crate::secret::secret_type!(@debug $name);
    };
    (@debug $name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }
    };
}
pub(crate) use secret_type;

secret_type!(
    /// An OAuth2 client secret, as registered by the admin.
    ClientSecret
);
secret_type!(
    /// An access token issued by a provider.
    AccessToken
);
secret_type!(
    /// A refresh token issued by a provider.
    RefreshToken
);
secret_type!(
    /// An authorization code from a callback. Short-lived, but a bearer credential until used.
    AuthorizationCode
);
secret_type!(
    /// A PKCE code verifier (RFC 7636).
    PkceVerifier
);
secret_type!(
    /// The `state` value that binds a callback to its pending connection.
    StateToken
);
secret_type!(
    /// A password stored for a `basic` integration's connection.
    Password
);
secret_type!(
    /// A named secret a plugin keeps beside a connection's tokens (a session token), or a
    /// plugin setting marked secret.
    NamedSecretValue
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let token = AccessToken::new("very-secret-token");
        let printed = format!("{token:?} {:?}", Some(ClientSecret::new("s3cr3t")));
        assert!(!printed.contains("very-secret-token"), "{printed}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("AccessToken([redacted])"), "{printed}");
        assert_eq!(token.secret(), "very-secret-token");
    }
}
