//! Which addresses an outbound request may reach.
//!
//! Three lists decide, in this order:
//! 1. the operator's `allowed_networks`: an address on it may be reached, whatever else says;
//! 2. [`ALWAYS_REFUSED`]: loopback and the unspecified address, refused for every request;
//! 3. [`DEFAULT_BLOCKED_NETWORKS`] plus the operator's `blocked_networks`, which add to the
//!    defaults and never replace them.
//!
//! A host's admin ports and sidecars listen on loopback, and cloud metadata on link-local:
//! the classic targets of a request forged from inside.

use std::fmt;
use std::net::IpAddr;

/// A network range, written `127.0.0.2/32` or `10.0.0.0/8` (a bare address is one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies in this range. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is
    /// its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 { 0 } else { bits >> (width - prefix.min(width)) }
        }
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32) == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128) == masked(u128::from(ip), self.prefix, 128)
            }
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip.to_ipv4_mapped().is_some_and(|v4| self.contains(v4.into())),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }

    /// The single-host range of `ip`.
    pub fn host(ip: IpAddr) -> Self {
        Self { addr: ip, prefix: if ip.is_ipv4() { 32 } else { 128 } }
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let shown = crate::host::shorten(s);
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("`{shown}` is not an IP range; write e.g. `10.0.0.0/8` or `127.0.0.2`"))?;
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= width)
                .ok_or_else(|| format!("`{shown}`: the prefix length must be 0..={width}"))?,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Refused for every outbound request unless listed in `allowed_networks`: loopback
/// (`127.0.0.0/8`, `::1`) and the unspecified address (`0.0.0.0/8`, `::`), which Linux
/// connects to loopback.
pub const ALWAYS_REFUSED: &[(&str, &str)] = &[
    ("127.0.0.0/8", "a loopback"),
    ("::1/128", "a loopback"),
    ("0.0.0.0/8", "an unspecified"),
    ("::/128", "an unspecified"),
];

/// Blocked unless listed in `allowed_networks`: private ranges (RFC 1918, carrier-grade
/// NAT, IPv6 unique local) and link-local ones, where cloud metadata lives
/// (`169.254.169.254`). The operator's `blocked_networks` add to these.
pub const DEFAULT_BLOCKED_NETWORKS: &[&str] =
    &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "fc00::/7", "fe80::/10"];

fn builtin(text: &str) -> IpNet {
    // The constants above are valid ranges; a unit test parses each.
    text.parse().unwrap_or(IpNet { addr: IpAddr::from([0, 0, 0, 0]), prefix: 0 })
}

/// Why an address may not be reached. The message names the address and the setting that
/// would open it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressRefused {
    /// Loopback or unspecified.
    #[error(
        "`{ip}` is {kind} address, refused for every outbound request; add it to `allowed_networks` \
         (`--allow-network {ip}`) to reach it"
    )]
    Always {
        /// The address.
        ip: IpAddr,
        /// `a loopback` or `an unspecified`.
        kind: &'static str,
    },
    /// In a default or operator-blocked network.
    #[error(
        "`{ip}` is in the blocked network `{network}`; add it to `allowed_networks` (`--allow-network {ip}`) to reach it"
    )]
    Blocked {
        /// The address.
        ip: IpAddr,
        /// The range it is in.
        network: IpNet,
    },
}

/// Whether `ip` may be reached, given the operator's `blocked` (on top of the defaults) and
/// `allowed` lists.
pub fn check_address(ip: IpAddr, blocked: &[IpNet], allowed: &[IpNet]) -> Result<(), AddressRefused> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    if allowed.iter().any(|net| net.contains(ip)) {
        return Ok(());
    }
    if let Some((_, kind)) = ALWAYS_REFUSED.iter().find(|(net, _)| builtin(net).contains(ip)) {
        return Err(AddressRefused::Always { ip, kind });
    }
    let defaults = DEFAULT_BLOCKED_NETWORKS.iter().map(|net| builtin(net));
    match defaults.chain(blocked.iter().copied()).find(|net| net.contains(ip)) {
        Some(network) => Err(AddressRefused::Blocked { ip, network }),
        None => Ok(()),
    }
}

/// Whether `ip` is on the operator's `allowed_networks` (which also permits plain http).
pub fn is_allowed(ip: IpAddr, allowed: &[IpNet]) -> bool {
    allowed.iter().any(|net| net.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn the_builtin_ranges_parse() {
        for (net, _) in ALWAYS_REFUSED {
            net.parse::<IpNet>().unwrap();
        }
        for net in DEFAULT_BLOCKED_NETWORKS {
            net.parse::<IpNet>().unwrap();
        }
    }

    #[test]
    fn ip_ranges_match_their_members_only() {
        let net: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.20.30.40")));
        assert!(!net.contains(ip("11.0.0.1")));
        let host: IpNet = "127.0.0.2".parse().unwrap();
        assert!(host.contains(ip("127.0.0.2")));
        assert!(!host.contains(ip("127.0.0.1")));
        assert!(host.contains(ip("::ffff:127.0.0.2")));
        assert!("10.0.0.0/33".parse::<IpNet>().unwrap_err().contains("prefix"));
        assert_eq!("[::1]".parse::<IpNet>().unwrap().to_string(), "::1/128");
        assert!("0.0.0.0/0".parse::<IpNet>().unwrap().contains(ip("8.8.8.8")));
    }

    #[test]
    fn loopback_and_unspecified_are_refused_whatever_blocked_networks_says() {
        for addr in ["127.0.0.1", "127.0.0.2", "127.255.255.254", "::1", "0.0.0.0", "0.1.2.3", "::", "::ffff:127.0.0.1"]
        {
            let err = check_address(ip(addr), &[], &[]).unwrap_err();
            assert!(matches!(err, AddressRefused::Always { .. }), "{addr}: {err}");
            let message = err.to_string();
            assert!(message.contains("allowed_networks") && message.contains("--allow-network"), "{message}");
        }
        let message = check_address(ip("127.0.0.1"), &[], &[]).unwrap_err().to_string();
        assert_eq!(
            message,
            "`127.0.0.1` is a loopback address, refused for every outbound request; add it to `allowed_networks` \
             (`--allow-network 127.0.0.1`) to reach it"
        );
    }

    #[test]
    fn the_operators_blocked_networks_add_to_the_defaults() {
        let blocked = nets(&["203.0.113.0/24"]);
        for addr in ["10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "fd00::1", "fe80::1"] {
            let err = check_address(ip(addr), &blocked, &[]).unwrap_err();
            assert!(matches!(err, AddressRefused::Blocked { .. }), "{addr}: {err}");
        }
        assert!(check_address(ip("203.0.113.9"), &blocked, &[]).unwrap_err().to_string().contains("203.0.113.0/24"));
        assert!(check_address(ip("203.0.113.9"), &[], &[]).is_ok());
        assert!(check_address(ip("93.184.215.14"), &blocked, &[]).is_ok());
        assert!(check_address(ip("::ffff:10.0.0.1"), &[], &[]).is_err());
    }

    #[test]
    fn allowed_networks_open_exactly_what_they_list() {
        let allowed = nets(&["127.0.0.1/32", "10.9.0.0/16"]);
        assert!(check_address(ip("127.0.0.1"), &[], &allowed).is_ok());
        assert!(check_address(ip("::ffff:127.0.0.1"), &[], &allowed).is_ok());
        assert!(check_address(ip("127.0.0.2"), &[], &allowed).is_err());
        assert!(check_address(ip("10.9.1.1"), &nets(&["10.9.1.0/24"]), &allowed).is_ok(), "allowed wins");
        assert!(check_address(ip("10.8.1.1"), &[], &allowed).is_err());
        assert!(check_address(ip("::1"), &[], &allowed).is_err());
    }
}
