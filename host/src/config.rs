//! `keyway serve` settings, resolved once into plain data.
//!
//! Every setting has three spellings that map predictably: the flag `--public-url`, the
//! environment variable `KEYWAY_PUBLIC_URL` and the TOML key `public_url`. A flag beats its
//! environment variable (clap does that), both beat the file named by `--config`, and the
//! file beats the defaults. A list given by a higher source replaces the lower one whole.
//!
//! Example file:
//!
//! ```toml
//! listen = "0.0.0.0:8400"
//! public_url = "https://keyway.example.com"
//! data_dir = "/var/lib/keyway"
//! state_ttl = "10m"
//! refresh_margin = "5m"
//! console_session_ttl = "12h"
//! action_max_calls = 50
//! action_deadline = "30s"
//! cache_entries = 10000
//! insecure_http_hosts = ["mock.test"]
//! blocked_networks = ["203.0.113.0/24"]
//! allowed_networks = ["10.20.0.5"]
//! egress_timeout = "15s"
//! metrics_listen = "127.0.0.1:9400"
//! log_format = "json"
//!
//! [resolve]
//! "*.zendesk.test" = "127.0.0.1"
//!
//! [limits]
//! call_timeout = "30s"
//! cpu_budget = "2s"
//! max_memory_mib = 32
//! max_concurrent_calls = 64
//! integration_concurrent_calls = 8
//! quota_wait = "2s"
//! hook_max_calls = 20
//! keep_resident_memory_kib = 1024   # default: 1024 where Linux has PAGEMAP_SCAN (6.7+), else 0
//! keep_resident_table_kib = 1024
//! ```
//!
//! Reading the file is the only I/O here; the server builds its clients and store from the
//! resulting [`Settings`].

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::actions::ActionLimits;
use crate::egress::{EgressConfig, HostPattern, IpNet, ResolveRule};
use crate::engine::Limits;
use crate::logging::LogFormat;

/// Where `keyway serve` listens unless told otherwise.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8400);
/// The data directory unless told otherwise, relative to the working directory.
pub const DEFAULT_DATA_DIR: &str = "keyway-data";
/// The SQLite file's name inside the data directory.
pub const SQLITE_FILE_NAME: &str = "keyway.db";
/// The path of the OAuth redirect URI under the public URL.
pub const REDIRECT_PATH: &str = "/oauth";
/// How long a pending authorization (its `state`) stays valid unless told otherwise.
pub const DEFAULT_STATE_TTL: Duration = Duration::from_secs(10 * 60);
/// How long before expiry a token is refreshed unless told otherwise.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// How long a console sign-in lasts unless told otherwise.
pub const DEFAULT_CONSOLE_SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// `keyway serve` flags. Every flag is also an environment variable and a TOML key:
/// `--public-url` = `KEYWAY_PUBLIC_URL` = `public_url`.
#[derive(clap::Args, Debug, Default, Clone)]
#[command(after_help = "\
Secrets are not settings and never go in the config file:
  KEYWAY_MASTER_KEY  the key that encrypts secrets at rest. Without it, SQLite uses
                     <data-dir>/master.key, created with mode 0600 on first start;
                     PostgreSQL requires it, so that all replicas share one key.
  KEYWAY_ADMIN_KEY   the first admin API key. Without it, the first start creates one
                     and prints it once.")]
pub struct ServeArgs {
    /// A TOML file with any of these settings, keyed by the flag's name with `_`
    /// (`public_url = "https://keyway.example.com"`). Flags and environment win over it.
    #[arg(long, env = "KEYWAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8400].
    #[arg(long, env = "KEYWAY_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The URL users and providers reach this server at; the OAuth redirect URI is this plus
    /// `/oauth` [default: http://<listen>].
    #[arg(long, env = "KEYWAY_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Directory for the SQLite file (`keyway.db`) and the generated `master.key`
    /// [default: ./keyway-data].
    #[arg(long, env = "KEYWAY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// `sqlite:<path>` or `postgres://user:password@host/db` [default: sqlite:<data-dir>/keyway.db].
    #[arg(long, env = "KEYWAY_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// How long a started authorization (its `state`) stays valid, e.g. `10m` [default: 10m].
    #[arg(long, env = "KEYWAY_STATE_TTL", value_name = "DURATION")]
    pub state_ttl: Option<String>,
    /// How long before a token expires it is refreshed, e.g. `5m` [default: 5m].
    #[arg(long, env = "KEYWAY_REFRESH_MARGIN", value_name = "DURATION")]
    pub refresh_margin: Option<String>,
    /// How long an admin console sign-in lasts, e.g. `8h` [default: 12h].
    #[arg(long, env = "KEYWAY_CONSOLE_SESSION_TTL", value_name = "DURATION")]
    pub console_session_ttl: Option<String>,
    /// API calls one custom action invocation may make, retries included [default: 50].
    #[arg(long, env = "KEYWAY_ACTION_MAX_CALLS", value_name = "N")]
    pub action_max_calls: Option<u32>,
    /// Time one custom action invocation may take, its API calls included, e.g. `30s`
    /// [default: 30s].
    #[arg(long, env = "KEYWAY_ACTION_DEADLINE", value_name = "DURATION")]
    pub action_deadline: Option<String>,
    /// How many API keys, integrations, connections and actions (each) the in-memory cache
    /// keeps between requests; `0` reads the database on every request [default: 10000].
    #[arg(long, env = "KEYWAY_CACHE_ENTRIES", value_name = "N")]
    pub cache_entries: Option<usize>,
    /// Hosts plugins may call over plain http; `*.example.test` (one label under a domain)
    /// allowed. Comma-separated in the environment.
    #[arg(long, env = "KEYWAY_INSECURE_HTTP_HOSTS", value_delimiter = ',', value_name = "HOST")]
    pub insecure_http_hosts: Vec<String>,
    /// Pin a host name to an address before DNS, like curl's `--resolve` but without the port
    /// (the URL's port is kept): `HOST=IP`, e.g. `*.zendesk.test=127.0.0.1`. Repeatable;
    /// comma-separated in the environment. In TOML: a `[resolve]` table.
    #[arg(long = "resolve", env = "KEYWAY_RESOLVE", value_delimiter = ',', value_name = "HOST=IP")]
    pub resolve: Vec<String>,
    /// Networks outbound requests may never reach, e.g. `203.0.113.0/24`, on top of the
    /// defaults (private and link-local ranges), which always apply.
    #[arg(long, env = "KEYWAY_BLOCKED_NETWORKS", value_delimiter = ',', value_name = "CIDR")]
    pub blocked_networks: Vec<String>,
    /// An address or range outbound requests may reach even though it is loopback,
    /// unspecified or blocked, and over plain http, e.g. `127.0.0.1` for a local mock.
    /// Repeatable; comma-separated in the environment. In TOML: `allowed_networks`.
    #[arg(long = "allow-network", env = "KEYWAY_ALLOWED_NETWORKS", value_delimiter = ',', value_name = "CIDR")]
    pub allowed_networks: Vec<String>,
    /// How long one outbound request (to a token endpoint or an app's API) may take, connect to
    /// last byte, e.g. `15s` [default: 15s].
    #[arg(long, env = "KEYWAY_EGRESS_TIMEOUT", value_name = "DURATION")]
    pub egress_timeout: Option<String>,
    /// Address of a second listener that serves only `GET /metrics` (Prometheus text), kept off
    /// the public one, e.g. `127.0.0.1:9400` [default: off].
    #[arg(long, env = "KEYWAY_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// How log lines are written to stderr: `text` or `json` (one object per line) [default: text].
    #[arg(long, env = "KEYWAY_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<String>,
}

/// Resolved `keyway serve` settings: plain data, validated.
#[derive(Clone)]
pub struct Settings {
    /// The address to bind.
    pub listen: SocketAddr,
    /// The externally visible base URL, without a trailing slash.
    pub public_url: String,
    /// Where the SQLite file and the generated master key live.
    pub data_dir: PathBuf,
    /// `sqlite:...` or `postgres://...`. May hold a password: print it with
    /// [`Settings::database_url_redacted`].
    pub database_url: String,
    /// Lifetime of a pending authorization's `state`.
    pub state_ttl: Duration,
    /// How long before expiry tokens are refreshed.
    pub refresh_margin: Duration,
    /// How long an admin console sign-in lasts.
    pub console_session_ttl: Duration,
    /// Per-invocation bounds on custom actions.
    pub actions: ActionLimits,
    /// Entries of each kind the hot-path cache keeps; 0 turns it off.
    pub cache_entries: usize,
    /// Outbound HTTP policy: `insecure_http_hosts`, `resolve`, `blocked_networks`.
    pub egress: EgressConfig,
    /// Per-call plugin limits.
    pub limits: Limits,
    /// Where `GET /metrics` is served, when it is.
    pub metrics_listen: Option<SocketAddr>,
    /// How log lines are written.
    pub log_format: LogFormat,
    /// Whether `public_url` was derived from `listen` (none was given), so it follows the address actually
    /// bound: see [`Settings::bound_to`].
    public_url_from_listen: bool,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url_redacted())
            .field("state_ttl", &self.state_ttl)
            .field("refresh_margin", &self.refresh_margin)
            .field("console_session_ttl", &self.console_session_ttl)
            .field("actions", &self.actions)
            .field("cache_entries", &self.cache_entries)
            .field("egress", &self.egress)
            .field("limits", &self.limits)
            .field("metrics_listen", &self.metrics_listen)
            .field("log_format", &self.log_format)
            .field("public_url_from_listen", &self.public_url_from_listen)
            .finish()
    }
}

/// Where a setting's value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag or its environment variable (clap does not say which).
    Args,
    /// The TOML file at this path.
    File(PathBuf),
}

/// Why the settings cannot be loaded. Each names the source and key, and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file named by `--config` cannot be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not TOML, has an unknown key, or a value of the wrong type.
    #[error("the config file {} is not valid: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message, which names the key and shows the line.
        message: String,
    },
    /// A value parsed but is not acceptable.
    #[error("{}: {message}", describe_key(key, origin))]
    Invalid {
        /// The TOML key (`state_ttl`, `limits.cpu_budget`).
        key: String,
        /// Where the value came from.
        origin: Origin,
        /// What is wrong and what to write instead.
        message: String,
    },
}

fn describe_key(key: &str, origin: &Origin) -> String {
    match origin {
        Origin::Args => {
            let flag = match key {
                "allowed_networks" => "allow-network".to_string(),
                _ => key.replace('_', "-"),
            };
            format!("`--{flag}` (or KEYWAY_{})", key.to_ascii_uppercase())
        }
        Origin::File(path) => format!("`{key}` in {}", path.display()),
    }
}

/// The TOML file: the flags' names with `_`, nothing else.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    state_ttl: Option<String>,
    refresh_margin: Option<String>,
    console_session_ttl: Option<String>,
    action_max_calls: Option<u32>,
    action_deadline: Option<String>,
    cache_entries: Option<usize>,
    insecure_http_hosts: Option<Vec<String>>,
    resolve: Option<BTreeMap<String, String>>,
    blocked_networks: Option<Vec<String>>,
    allowed_networks: Option<Vec<String>>,
    egress_timeout: Option<String>,
    metrics_listen: Option<String>,
    log_format: Option<String>,
    limits: Option<FileLimits>,
}

/// The optional `[limits]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLimits {
    call_timeout: Option<String>,
    cpu_budget: Option<String>,
    max_memory_mib: Option<u64>,
    max_concurrent_calls: Option<u64>,
    integration_concurrent_calls: Option<u64>,
    quota_wait: Option<String>,
    hook_max_calls: Option<u32>,
    keep_resident_memory_kib: Option<u64>,
    keep_resident_table_kib: Option<u64>,
}

impl FileSettings {
    fn read(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string() })
    }
}

/// One value and where it came from; `None` means the default applies.
type Sourced<T> = Option<(T, Origin)>;

fn pick<T>(arg: Option<T>, file: Option<T>, file_origin: &Origin) -> Sourced<T> {
    match (arg, file) {
        (Some(value), _) => Some((value, Origin::Args)),
        (None, Some(value)) => Some((value, file_origin.clone())),
        (None, None) => None,
    }
}

/// A list from the flags wins when it is non-empty (clap cannot tell "empty" from "absent").
fn pick_list<T>(arg: &[T], file: Option<Vec<T>>, file_origin: &Origin) -> Sourced<Vec<T>>
where
    T: Clone,
{
    pick((!arg.is_empty()).then(|| arg.to_vec()), file, file_origin)
}

fn invalid(key: &str, origin: &Origin, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { key: key.to_string(), origin: origin.clone(), message: message.into() }
}

impl Settings {
    /// Resolves the settings: `args` (flags, then environment) over the TOML file named by
    /// `args.config` over the defaults, and validates every value.
    pub fn load(args: &ServeArgs) -> Result<Settings, ConfigError> {
        let file = match &args.config {
            Some(path) => FileSettings::read(path)?,
            None => FileSettings::default(),
        };
        let file_origin = Origin::File(args.config.clone().unwrap_or_default());
        let from_file = &file_origin;

        let listen = match pick(args.listen.map(|a| a.to_string()), file.listen, from_file) {
            Some((text, origin)) => text.parse().map_err(|_| {
                invalid("listen", &origin, format!("`{text}` is not an address; write e.g. `127.0.0.1:8400`"))
            })?,
            None => DEFAULT_LISTEN,
        };

        let metrics_listen = match pick(args.metrics_listen.map(|a| a.to_string()), file.metrics_listen, from_file) {
            Some((text, origin)) => {
                Some(parse_metrics_listen(&text, listen).map_err(|m| invalid("metrics_listen", &origin, m))?)
            }
            None => None,
        };

        let (public_url, public_url_from_listen) = match pick(args.public_url.clone(), file.public_url, from_file) {
            Some((url, origin)) => (normalize_public_url(&url).map_err(|m| invalid("public_url", &origin, m))?, false),
            None => (default_public_url(listen), true),
        };

        let data_dir = pick(args.data_dir.clone(), file.data_dir, from_file);
        let data_dir_origin = data_dir.as_ref().map(|(_, origin)| origin.clone()).unwrap_or(Origin::Args);
        let data_dir = data_dir.map(|(dir, _)| dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));

        let database_url = match pick(args.database_url.clone(), file.database_url, from_file) {
            Some((url, origin)) => {
                check_database_url(&url).map_err(|m| invalid("database_url", &origin, m))?;
                url
            }
            None => {
                let path = data_dir.join(SQLITE_FILE_NAME);
                let path = path.to_str().ok_or_else(|| {
                    invalid("data_dir", &data_dir_origin, "the path is not valid UTF-8; choose another directory")
                })?;
                format!("sqlite:{path}")
            }
        };

        let state_ttl = duration_setting("state_ttl", pick(args.state_ttl.clone(), file.state_ttl, from_file))?
            .unwrap_or(DEFAULT_STATE_TTL);
        let refresh_margin =
            duration_setting("refresh_margin", pick(args.refresh_margin.clone(), file.refresh_margin, from_file))?
                .unwrap_or(DEFAULT_REFRESH_MARGIN);
        let console_session_ttl = duration_setting(
            "console_session_ttl",
            pick(args.console_session_ttl.clone(), file.console_session_ttl, from_file),
        )?
        .unwrap_or(DEFAULT_CONSOLE_SESSION_TTL);

        let mut actions = ActionLimits::default();
        if let Some((calls, origin)) = pick(args.action_max_calls, file.action_max_calls, from_file) {
            if calls == 0 {
                return Err(invalid("action_max_calls", &origin, "must be at least 1; write e.g. `50`"));
            }
            actions.max_calls = calls;
        }
        if let Some(deadline) =
            duration_setting("action_deadline", pick(args.action_deadline.clone(), file.action_deadline, from_file))?
        {
            actions.deadline = deadline;
        }

        let cache_entries = pick(args.cache_entries, file.cache_entries, from_file)
            .map_or(crate::service::DEFAULT_CACHE_ENTRIES, |(entries, _)| entries);

        let mut egress = EgressConfig::default();
        if let Some((hosts, origin)) = pick_list(&args.insecure_http_hosts, file.insecure_http_hosts, from_file) {
            egress.insecure_http_hosts = hosts
                .iter()
                .map(|h| parse_host_pattern(h).map_err(|m| invalid("insecure_http_hosts", &origin, m)))
                .collect::<Result<_, _>>()?;
        }
        let resolve_args = args.resolve.iter().map(|rule| match rule.split_once('=') {
            Some((host, ip)) => Ok((host.to_string(), ip.to_string())),
            None => Err(invalid("resolve", &Origin::Args, resolve_syntax_hint(rule))),
        });
        let resolve_args: Vec<(String, String)> = resolve_args.collect::<Result<_, _>>()?;
        let resolve_file = file.resolve.map(|table| table.into_iter().collect::<Vec<_>>());
        if let Some((rules, origin)) = pick_list(&resolve_args, resolve_file, from_file) {
            egress.resolve = rules
                .iter()
                .map(|(host, ip)| parse_resolve_rule(host, ip).map_err(|m| invalid("resolve", &origin, m)))
                .collect::<Result<_, _>>()?;
        }
        if let Some((nets, origin)) = pick_list(&args.blocked_networks, file.blocked_networks, from_file) {
            egress.blocked_networks =
                parse_blocked_networks(&nets).map_err(|m| invalid("blocked_networks", &origin, m))?;
        }
        if let Some((nets, origin)) = pick_list(&args.allowed_networks, file.allowed_networks, from_file) {
            egress.allowed_networks = parse_networks(&nets).map_err(|m| invalid("allowed_networks", &origin, m))?;
        }
        if let Some(timeout) =
            duration_setting("egress_timeout", pick(args.egress_timeout.clone(), file.egress_timeout, from_file))?
        {
            egress.timeout = timeout;
        }

        let log_format = match pick(args.log_format.clone(), file.log_format, from_file) {
            Some((text, origin)) => LogFormat::parse(&text).ok_or_else(|| {
                invalid("log_format", &origin, format!("`{text}` is not a log format; write {}", LogFormat::ALLOWED))
            })?,
            None => LogFormat::default(),
        };

        let mut limits = Limits::default();
        if let Some(file_limits) = file.limits {
            let limit = |key: &str, value: Option<String>| {
                duration_setting(&format!("limits.{key}"), value.map(|v| (v, file_origin.clone())))
            };
            if let Some(timeout) = limit("call_timeout", file_limits.call_timeout)? {
                limits.call_timeout = timeout;
            }
            if let Some(budget) = limit("cpu_budget", file_limits.cpu_budget)? {
                limits.cpu_budget = budget;
            }
            if let Some(mib) = file_limits.max_memory_mib {
                limits.max_memory_bytes = usize::try_from(mib)
                    .ok()
                    .filter(|&mib| mib > 0)
                    .and_then(|mib| mib.checked_mul(1 << 20))
                    .ok_or_else(|| {
                        invalid(
                            "limits.max_memory_mib",
                            &file_origin,
                            format!("`{mib}` MiB is out of range; write e.g. `32`"),
                        )
                    })?;
            }
            if let Some(calls) = file_limits.max_concurrent_calls {
                limits.max_concurrent_calls = usize::try_from(calls).ok().filter(|&c| c > 0).ok_or_else(|| {
                    invalid("limits.max_concurrent_calls", &file_origin, "must be at least 1; write e.g. `64`")
                })?;
            }
            if let Some(calls) = file_limits.integration_concurrent_calls {
                limits.integration_concurrent_calls =
                    usize::try_from(calls).ok().filter(|&c| c > 0).ok_or_else(|| {
                        invalid(
                            "limits.integration_concurrent_calls",
                            &file_origin,
                            "must be at least 1; write e.g. `8`",
                        )
                    })?;
            }
            if limits.integration_concurrent_calls >= limits.max_concurrent_calls && limits.max_concurrent_calls > 1 {
                return Err(invalid(
                    "limits.integration_concurrent_calls",
                    &file_origin,
                    format!(
                        "`{}` must be below `limits.max_concurrent_calls` ({}), so that one integration cannot take every slot",
                        limits.integration_concurrent_calls, limits.max_concurrent_calls
                    ),
                ));
            }
            if let Some(wait) = limit("quota_wait", file_limits.quota_wait)? {
                limits.quota_wait = wait;
            }
            if let Some(calls) = file_limits.hook_max_calls {
                if calls == 0 {
                    return Err(invalid("limits.hook_max_calls", &file_origin, "must be at least 1; write e.g. `20`"));
                }
                limits.hook_max_calls = calls;
            }
            let kib = |key: &str, value: u64| {
                usize::try_from(value).ok().and_then(|kib| kib.checked_mul(1 << 10)).ok_or_else(|| {
                    invalid(
                        &format!("limits.{key}"),
                        &file_origin,
                        format!("`{value}` KiB is out of range; write e.g. `1024`"),
                    )
                })
            };
            if let Some(value) = file_limits.keep_resident_memory_kib {
                limits.keep_resident_memory_bytes = kib("keep_resident_memory_kib", value)?;
            }
            if let Some(value) = file_limits.keep_resident_table_kib {
                limits.keep_resident_table_bytes = kib("keep_resident_table_kib", value)?;
            }
        }

        Ok(Settings {
            listen,
            public_url,
            data_dir,
            database_url,
            state_ttl,
            refresh_margin,
            console_session_ttl,
            actions,
            cache_entries,
            egress,
            limits,
            metrics_listen,
            log_format,
            public_url_from_listen,
        })
    }

    /// Records the address the server actually bound. With `--listen 127.0.0.1:0` the port is only known once
    /// bound; a public URL derived from `listen` would otherwise advertise `http://127.0.0.1:0/oauth` as the
    /// redirect URI, where no browser can come back. A public URL that was given is the operator's (a proxy
    /// in front, say) and is kept as it is.
    pub fn bound_to(&mut self, addr: SocketAddr) {
        self.listen = addr;
        if self.public_url_from_listen {
            self.public_url = default_public_url(addr);
        }
    }

    /// The OAuth redirect URI: the public URL plus `/oauth`, e.g.
    /// `https://keyway.example.com/oauth`.
    pub fn redirect_uri(&self) -> String {
        format!("{}{REDIRECT_PATH}", self.public_url)
    }

    /// Whether the store is PostgreSQL (otherwise SQLite).
    pub fn is_postgres(&self) -> bool {
        is_postgres_url(&self.database_url)
    }

    /// The database URL with any password replaced by `***`, fit for logs.
    pub fn database_url_redacted(&self) -> String {
        match url::Url::parse(&self.database_url) {
            Ok(mut url) if url.password().is_some() => {
                // Cannot fail: a URL with a password has a host.
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.database_url.clone(),
        }
    }
}

/// The metrics listener's address: not the public one, since `/metrics` must stay off it.
fn parse_metrics_listen(text: &str, listen: SocketAddr) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text.trim().parse().map_err(|_| {
        format!("`{text}` is not an address; write e.g. `127.0.0.1:9400` (leave it out to serve no metrics)")
    })?;
    if addr == listen && addr.port() != 0 {
        return Err(format!(
            "`{addr}` is also `listen`: metrics need a listener of their own, off the public one; choose another port, e.g. `127.0.0.1:9400`"
        ));
    }
    Ok(addr)
}

fn default_public_url(listen: SocketAddr) -> String {
    // A wildcard address is not somewhere a browser can be sent back to; loopback is.
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, listen.port()))
}

/// Checks a public URL and drops its trailing slash.
fn normalize_public_url(text: &str) -> Result<String, String> {
    let example = "write e.g. `https://keyway.example.com`";
    let url = url::Url::parse(text).map_err(|e| format!("`{text}` is not an absolute URL ({e}); {example}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{text}` must be an http(s) URL with a host; {example}"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{text}` must not have a query or fragment: the redirect URI is this URL plus `{REDIRECT_PATH}`; {example}"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("the public URL must not carry credentials; {example}"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn is_postgres_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

fn check_database_url(url: &str) -> Result<(), String> {
    let hint = "write `sqlite:<path>` (e.g. `sqlite:/var/lib/keyway/keyway.db`) or `postgres://user:password@host/db`";
    if url.to_ascii_lowercase().starts_with("sqlite:") {
        if url["sqlite:".len()..].trim_start_matches('/').is_empty() {
            return Err(format!("the SQLite URL has no file path; {hint}"));
        }
        return Ok(());
    }
    if is_postgres_url(url) {
        return url::Url::parse(url)
            .map(|_| ())
            .map_err(|e| format!("the PostgreSQL URL does not parse ({e}); {hint}"));
    }
    // Echo only the scheme: the rest may hold a password.
    match url.split_once(':') {
        Some((scheme, _)) if !scheme.is_empty() => Err(format!("`{scheme}:` databases are not supported; {hint}")),
        _ => Err(format!("not a database URL; {hint}")),
    }
}

fn duration_setting(key: &str, value: Sourced<String>) -> Result<Option<Duration>, ConfigError> {
    let Some((text, origin)) = value else { return Ok(None) };
    let duration = humantime::parse_duration(text.trim())
        .map_err(|_| invalid(key, &origin, format!("`{text}` is not a duration; write e.g. `10m`, `90s` or `1h`")))?;
    if duration.is_zero() {
        return Err(invalid(key, &origin, format!("`{text}` must be longer than zero; write e.g. `10m`")));
    }
    Ok(Some(duration))
}

/// A host name or `*.suffix` wildcard, normalised (lowercase, IDNA, no trailing dot).
fn parse_host_pattern(text: &str) -> Result<HostPattern, String> {
    let text = text.trim();
    if text.contains("://") || text.contains('/') {
        return Err(format!(
            "`{text}` is not a host name; write the name alone, e.g. `api.example.test` or `*.example.test`"
        ));
    }
    HostPattern::parse(text).map_err(|e| e.to_string())
}

fn resolve_syntax_hint(rule: &str) -> String {
    format!(
        "`{rule}` is not `HOST=IP`; write e.g. `*.zendesk.test=127.0.0.1` (the URL's port is kept, so unlike curl \
         there is no port)"
    )
}

fn parse_resolve_rule(host: &str, ip: &str) -> Result<ResolveRule, String> {
    let host = parse_host_pattern(host)?;
    let ip_text = ip.trim().trim_start_matches('[').trim_end_matches(']');
    let ip = ip_text.parse::<IpAddr>().map_err(|_| {
        format!("`{ip}` (for `{host}`) is not an IP address; write e.g. `127.0.0.1` or `::1`, without a port")
    })?;
    Ok(ResolveRule { host, ip })
}

fn parse_blocked_networks(nets: &[String]) -> Result<Vec<IpNet>, String> {
    if let [only] = nets
        && only.trim().eq_ignore_ascii_case("none")
    {
        // It once emptied the list; now the defaults always apply, so say how to open one.
        return Err("`none` is not accepted: these ranges add to the default blocked networks, which always apply; \
                    to reach an address inside them, list it in `allowed_networks` (`--allow-network`)"
            .into());
    }
    parse_networks(nets)
}

fn parse_networks(nets: &[String]) -> Result<Vec<IpNet>, String> {
    nets.iter().map(|net| net.trim().parse::<IpNet>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A TOML file in the temp directory, removed on drop.
    struct TempToml(PathBuf);

    impl TempToml {
        fn new(text: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let name = format!("keyway-config-{}-{}.toml", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, text).unwrap();
            Self(path)
        }

        fn args(&self) -> ServeArgs {
            ServeArgs { config: Some(self.0.clone()), ..ServeArgs::default() }
        }
    }

    impl Drop for TempToml {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn error_text(args: &ServeArgs) -> String {
        Settings::load(args).expect_err("settings should be refused").to_string()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let settings = Settings::load(&ServeArgs::default()).unwrap();
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8400");
        assert_eq!(settings.public_url, "http://127.0.0.1:8400");
        assert_eq!(settings.redirect_uri(), "http://127.0.0.1:8400/oauth");
        assert_eq!(settings.data_dir, PathBuf::from("keyway-data"));
        assert_eq!(settings.database_url, format!("sqlite:{}", Path::new("keyway-data").join("keyway.db").display()));
        assert!(!settings.is_postgres());
        assert_eq!(settings.state_ttl, Duration::from_secs(600));
        assert_eq!(settings.refresh_margin, Duration::from_secs(300));
        assert_eq!(settings.egress.blocked_networks, EgressConfig::default().blocked_networks);
        assert!(settings.egress.resolve.is_empty() && settings.egress.insecure_http_hosts.is_empty());
        assert_eq!(settings.limits.cpu_budget, Limits::default().cpu_budget);
        assert_eq!((settings.actions.max_calls, settings.actions.deadline), (50, Duration::from_secs(30)));
    }

    #[test]
    fn the_egress_timeout_comes_from_the_file_or_the_flags() {
        let defaults = Settings::load(&ServeArgs::default()).unwrap();
        assert_eq!(defaults.egress.timeout, EgressConfig::default().timeout);
        assert_eq!(defaults.egress.timeout, Duration::from_secs(15), "the README's default");
        let file = TempToml::new("egress_timeout = \"3s\"\n");
        assert_eq!(Settings::load(&file.args()).unwrap().egress.timeout, Duration::from_secs(3));
        let args = ServeArgs { egress_timeout: Some("500ms".into()), ..file.args() };
        assert_eq!(Settings::load(&args).unwrap().egress.timeout, Duration::from_millis(500), "the flag wins");
        let flag = Wrapper::try_parse_from(["keyway", "--egress-timeout", "2s"]).unwrap().serve;
        assert_eq!(Settings::load(&flag).unwrap().egress.timeout, Duration::from_secs(2));

        let args = ServeArgs { egress_timeout: Some("0s".into()), ..ServeArgs::default() };
        assert!(error_text(&args).contains("must be longer than zero"), "{}", error_text(&args));
        let file = TempToml::new("egress_timeout = \"soon\"\n");
        assert!(error_text(&file.args()).starts_with("`egress_timeout` in "), "{}", error_text(&file.args()));
    }

    #[test]
    fn the_log_format_comes_from_the_file_or_the_flags_and_names_the_allowed_values() {
        assert_eq!(Settings::load(&ServeArgs::default()).unwrap().log_format, LogFormat::Text, "the README's default");
        let file = TempToml::new("log_format = \"json\"\n");
        assert_eq!(Settings::load(&file.args()).unwrap().log_format, LogFormat::Json);
        let args = ServeArgs { log_format: Some("text".into()), ..file.args() };
        assert_eq!(Settings::load(&args).unwrap().log_format, LogFormat::Text, "the flag wins");
        let flag = Wrapper::try_parse_from(["keyway", "--log-format", "JSON"]).unwrap().serve;
        assert_eq!(Settings::load(&flag).unwrap().log_format, LogFormat::Json);

        let args = ServeArgs { log_format: Some("yaml".into()), ..ServeArgs::default() };
        assert_eq!(
            error_text(&args),
            "`--log-format` (or KEYWAY_LOG_FORMAT): `yaml` is not a log format; write `text` or `json`"
        );
        let file = TempToml::new("log_format = \"logfmt\"\n");
        assert!(error_text(&file.args()).starts_with("`log_format` in "), "{}", error_text(&file.args()));
    }

    #[test]
    fn action_limits_come_from_the_file_or_the_flags() {
        let file = TempToml::new("action_max_calls = 7\naction_deadline = \"5s\"\n");
        let settings = Settings::load(&file.args()).unwrap();
        assert_eq!((settings.actions.max_calls, settings.actions.deadline), (7, Duration::from_secs(5)));
        let args = ServeArgs { action_max_calls: Some(9), ..file.args() };
        assert_eq!(Settings::load(&args).unwrap().actions.max_calls, 9, "the flag wins");

        let args = ServeArgs { action_max_calls: Some(0), ..ServeArgs::default() };
        assert!(error_text(&args).contains("must be at least 1"), "{}", error_text(&args));
        let args = ServeArgs { action_deadline: Some("forever".into()), ..ServeArgs::default() };
        assert!(
            error_text(&args).starts_with("`--action-deadline` (or KEYWAY_ACTION_DEADLINE)"),
            "{}",
            error_text(&args)
        );
    }

    #[test]
    fn the_default_public_url_follows_listen_and_avoids_the_wildcard_address() {
        let args = ServeArgs { listen: Some("0.0.0.0:9000".parse().unwrap()), ..ServeArgs::default() };
        assert_eq!(Settings::load(&args).unwrap().redirect_uri(), "http://127.0.0.1:9000/oauth");
        let args = ServeArgs { listen: Some("[::]:9000".parse().unwrap()), ..ServeArgs::default() };
        assert_eq!(Settings::load(&args).unwrap().public_url, "http://[::1]:9000");
        let args = ServeArgs { listen: Some("127.0.0.5:81".parse().unwrap()), ..ServeArgs::default() };
        assert_eq!(Settings::load(&args).unwrap().public_url, "http://127.0.0.5:81");
    }

    #[test]
    fn a_derived_public_url_follows_the_bound_port_and_a_given_one_is_kept() {
        let bound: SocketAddr = "127.0.0.1:40123".parse().unwrap();
        let args = ServeArgs { listen: Some("127.0.0.1:0".parse().unwrap()), ..ServeArgs::default() };
        let mut settings = Settings::load(&args).unwrap();
        settings.bound_to(bound);
        assert_eq!(settings.redirect_uri(), "http://127.0.0.1:40123/oauth");
        assert_eq!(settings.listen, bound);

        let args = ServeArgs {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            public_url: Some("https://keyway.example.com".into()),
            ..ServeArgs::default()
        };
        let mut settings = Settings::load(&args).unwrap();
        settings.bound_to(bound);
        assert_eq!(
            settings.redirect_uri(),
            "https://keyway.example.com/oauth",
            "behind a proxy, the URL is the proxy's"
        );
    }

    #[test]
    fn the_file_beats_defaults_and_args_beat_the_file() {
        let file = TempToml::new(
            r#"
            listen = "127.0.0.1:9100"
            public_url = "https://file.example.com/"
            data_dir = "/srv/keyway"
            state_ttl = "2m"
            refresh_margin = "90s"
            insecure_http_hosts = ["mock.test"]
            "#,
        );
        let from_file = Settings::load(&file.args()).unwrap();
        assert_eq!(from_file.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(from_file.redirect_uri(), "https://file.example.com/oauth");
        assert_eq!(from_file.database_url, "sqlite:/srv/keyway/keyway.db");
        assert_eq!(from_file.state_ttl, Duration::from_secs(120));
        assert_eq!(from_file.refresh_margin, Duration::from_secs(90));
        assert_eq!(from_file.egress.insecure_http_hosts, ["mock.test".parse().unwrap()]);

        let args = ServeArgs {
            public_url: Some("https://flag.example.com".into()),
            state_ttl: Some("30s".into()),
            insecure_http_hosts: vec!["Other.Test".into()],
            database_url: Some("postgres://keyway:pw@db.internal/keyway".into()),
            ..file.args()
        };
        let settings = Settings::load(&args).unwrap();
        assert_eq!(settings.public_url, "https://flag.example.com");
        assert_eq!(settings.state_ttl, Duration::from_secs(30));
        assert_eq!(
            settings.egress.insecure_http_hosts,
            ["other.test".parse().unwrap()],
            "a list from flags replaces the file's"
        );
        assert!(settings.is_postgres());
        // Untouched by flags: still the file's.
        assert_eq!(settings.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(settings.refresh_margin, Duration::from_secs(90));
    }

    /// clap reads the environment, which is process-global: this test re-runs itself in a
    /// child process with the variables set, so no other test sees them.
    #[test]
    fn flags_beat_environment_beat_the_file() {
        const CHILD: &str = "KEYWAY_CONFIG_TEST_CHILD";
        let file = TempToml::new("state_ttl = \"1h\"\nrefresh_margin = \"1h\"\nlisten = \"127.0.0.1:9200\"\n");
        if std::env::var_os(CHILD).is_none() {
            let mut child = std::process::Command::new(std::env::current_exe().unwrap());
            // Whatever the developer's shell exports must not take part.
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("KEYWAY_") {
                    child.env_remove(name);
                }
            }
            let output = child
                .args(["--exact", "config::tests::flags_beat_environment_beat_the_file", "--test-threads=1"])
                .env(CHILD, "1")
                .env("KEYWAY_CONFIG", &file.0)
                .env("KEYWAY_STATE_TTL", "3m")
                .env("KEYWAY_REFRESH_MARGIN", "4m")
                .env("KEYWAY_LOG_FORMAT", "json")
                .env("KEYWAY_RESOLVE", "*.zendesk.test=127.0.0.1,api.example.test=::1")
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(output.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
            assert!(stdout.contains("1 passed"), "the child ran no test:\n{stdout}");
            return;
        }
        let wrapper = Wrapper::try_parse_from(["keyway", "--state-ttl", "7m"]).unwrap();
        let settings = Settings::load(&wrapper.serve).unwrap();
        assert_eq!(settings.state_ttl, Duration::from_secs(7 * 60), "the flag beats KEYWAY_STATE_TTL");
        assert_eq!(settings.refresh_margin, Duration::from_secs(4 * 60), "KEYWAY_REFRESH_MARGIN beats the file");
        assert_eq!(settings.log_format, LogFormat::Json, "KEYWAY_LOG_FORMAT is read");
        assert_eq!(settings.listen.to_string(), "127.0.0.1:9200", "the file named by KEYWAY_CONFIG is read");
        let hosts: Vec<_> = settings.egress.resolve.iter().map(|r| (r.host.to_string(), r.ip.to_string())).collect();
        assert_eq!(
            hosts,
            [
                ("*.zendesk.test".to_string(), "127.0.0.1".to_string()),
                ("api.example.test".to_string(), "::1".to_string())
            ]
        );
    }

    #[test]
    fn repeated_flags_and_comma_lists_parse() {
        let wrapper = Wrapper::try_parse_from([
            "keyway",
            "--resolve",
            "*.zendesk.test=127.0.0.1",
            "--resolve",
            "a.test=127.0.0.2,b.test=127.0.0.3",
            "--blocked-networks",
            "10.0.0.0/8,192.168.0.0/16",
            "--allow-network",
            "127.0.0.1",
            "--allow-network",
            "127.0.0.2,::1",
        ])
        .unwrap();
        assert_eq!(wrapper.serve.resolve.len(), 3);
        let settings = Settings::load(&wrapper.serve).unwrap();
        assert_eq!(settings.egress.blocked_networks.len(), 2);
        assert_eq!(settings.egress.allowed_networks.len(), 3);
        assert!(
            settings.egress.resolve.iter().any(|r| r.host.to_string() == "b.test" && r.ip.to_string() == "127.0.0.3")
        );
    }

    #[test]
    fn an_unknown_key_in_the_file_is_named() {
        let file = TempToml::new("stat_ttl = \"10m\"\n");
        let message = error_text(&file.args());
        assert!(message.contains("stat_ttl"), "{message}");
        assert!(message.contains(&file.0.display().to_string()), "{message}");
        let file = TempToml::new("[limits]\nmax_memory = 64\n");
        assert!(error_text(&file.args()).contains("max_memory"));
    }

    #[test]
    fn a_missing_file_says_which() {
        let args = ServeArgs { config: Some("/nonexistent/keyway.toml".into()), ..ServeArgs::default() };
        let message = error_text(&args);
        assert!(message.starts_with("cannot read the config file /nonexistent/keyway.toml"), "{message}");
    }

    #[test]
    fn a_bad_duration_names_the_source_and_the_fix() {
        let file = TempToml::new("state_ttl = \"ten minutes\"\n");
        assert_eq!(
            error_text(&file.args()),
            format!(
                "`state_ttl` in {}: `ten minutes` is not a duration; write e.g. `10m`, `90s` or `1h`",
                file.0.display()
            )
        );
        let args = ServeArgs { refresh_margin: Some("soon".into()), ..ServeArgs::default() };
        assert_eq!(
            error_text(&args),
            "`--refresh-margin` (or KEYWAY_REFRESH_MARGIN): `soon` is not a duration; write e.g. `10m`, `90s` or `1h`"
        );
        let args = ServeArgs { state_ttl: Some("0s".into()), ..ServeArgs::default() };
        assert!(error_text(&args).contains("must be longer than zero"));
        let file = TempToml::new("[limits]\ncpu_budget = \"2 parsecs\"\n");
        assert!(error_text(&file.args()).starts_with("`limits.cpu_budget` in "));
    }

    #[test]
    fn resolve_takes_wildcards_from_the_file_and_refuses_curl_syntax() {
        let file = TempToml::new("[resolve]\n\"*.Zendesk.test\" = \"127.0.0.1\"\n\"v6.test\" = \"[::1]\"\n");
        let settings = Settings::load(&file.args()).unwrap();
        let rules: Vec<_> = settings.egress.resolve.iter().map(|r| (r.host.to_string(), r.ip)).collect();
        assert_eq!(
            rules,
            [
                ("*.zendesk.test".to_string(), "127.0.0.1".parse().unwrap()),
                ("v6.test".to_string(), "::1".parse().unwrap())
            ]
        );

        let args = ServeArgs { resolve: vec!["acme.zendesk.test:443:127.0.0.1".into()], ..ServeArgs::default() };
        let message = error_text(&args);
        assert!(
            message.starts_with("`--resolve` (or KEYWAY_RESOLVE): `acme.zendesk.test:443:127.0.0.1` is not `HOST=IP`")
        );
        let args = ServeArgs { resolve: vec!["a.test=127.0.0.1:8080".into()], ..ServeArgs::default() };
        assert!(error_text(&args).contains("is not an IP address"));
        let args = ServeArgs { resolve: vec!["https://a.test=127.0.0.1".into()], ..ServeArgs::default() };
        assert!(error_text(&args).contains("is not a host name"));
    }

    #[test]
    fn blocked_networks_add_to_the_defaults_and_only_allowed_networks_open_them() {
        let file = TempToml::new("blocked_networks = [\"203.0.113.0/24\"]\n");
        let egress = Settings::load(&file.args()).unwrap().egress;
        assert_eq!(egress.blocked_networks, ["203.0.113.0/24".parse().unwrap()]);
        for ip in ["203.0.113.7", "10.1.2.3", "169.254.169.254", "127.0.0.1"] {
            assert!(egress.check_address(ip.parse().unwrap()).is_err(), "{ip} stays refused");
        }
        let file = TempToml::new("blocked_networks = []\n");
        let egress = Settings::load(&file.args()).unwrap().egress;
        assert!(egress.check_address("10.1.2.3".parse().unwrap()).is_err(), "an empty list keeps the defaults");
        let args = ServeArgs { blocked_networks: vec!["none".into()], ..ServeArgs::default() };
        let message = error_text(&args);
        assert!(message.starts_with("`--blocked-networks` (or KEYWAY_BLOCKED_NETWORKS): "), "{message}");
        assert!(message.contains("allowed_networks"), "{message}");
        let args = ServeArgs { blocked_networks: vec!["10.0.0.0/33".into()], ..ServeArgs::default() };
        assert!(error_text(&args).contains("prefix length must be 0..=32"));

        let file = TempToml::new("allowed_networks = [\"10.1.2.0/24\", \"127.0.0.1\"]\n");
        let egress = Settings::load(&file.args()).unwrap().egress;
        assert!(egress.check_address("10.1.2.3".parse().unwrap()).is_ok());
        assert!(egress.check_address("127.0.0.1".parse().unwrap()).is_ok());
        assert!(egress.check_address("127.0.0.2".parse().unwrap()).is_err());
        let file = TempToml::new("allowed_networks = [\"localhost\"]\n");
        let message = error_text(&file.args());
        assert!(message.starts_with("`allowed_networks` in "), "{message}");
        let args = ServeArgs { allowed_networks: vec!["x".into()], ..ServeArgs::default() };
        assert!(error_text(&args).starts_with("`--allow-network` (or KEYWAY_ALLOWED_NETWORKS): "));
    }

    #[test]
    fn host_patterns_are_normalised_and_only_the_leftmost_label_wildcard_is_accepted() {
        let file = TempToml::new(
            "insecure_http_hosts = [\"Mock.Test.\", \"*.Zendesk.test\"]\n[resolve]\n\"Api.Pin.test.\" = \"127.0.0.1\"\n",
        );
        let egress = Settings::load(&file.args()).unwrap().egress;
        let hosts: Vec<String> = egress.insecure_http_hosts.iter().map(ToString::to_string).collect();
        assert_eq!(hosts, ["mock.test", "*.zendesk.test"]);
        assert_eq!(egress.resolve[0].host.to_string(), "api.pin.test");
        for bad in ["*", "*.test", "a*.example.test", "x.*.example.test", "http://a.test"] {
            let args = ServeArgs { insecure_http_hosts: vec![bad.into()], ..ServeArgs::default() };
            let message = error_text(&args);
            assert!(message.starts_with("`--insecure-http-hosts` (or KEYWAY_INSECURE_HTTP_HOSTS): "), "{message}");
            let args = ServeArgs { resolve: vec![format!("{bad}=127.0.0.1")], ..ServeArgs::default() };
            assert!(error_text(&args).starts_with("`--resolve` (or KEYWAY_RESOLVE): "), "{bad}");
        }
    }

    #[test]
    fn public_url_must_be_an_absolute_http_url_without_query() {
        for (url, expected) in [
            ("keyway.example.com", "is not an absolute URL"),
            ("ftp://keyway.example.com", "must be an http(s) URL"),
            ("https://keyway.example.com/?x=1", "must not have a query or fragment"),
            ("https://keyway.example.com/#top", "must not have a query or fragment"),
        ] {
            let args = ServeArgs { public_url: Some(url.into()), ..ServeArgs::default() };
            let message = error_text(&args);
            assert!(message.starts_with("`--public-url` (or KEYWAY_PUBLIC_URL): "), "{message}");
            assert!(message.contains(expected), "{url}: {message}");
        }
        let args = ServeArgs { public_url: Some("https://example.com/keyway/".into()), ..ServeArgs::default() };
        assert_eq!(Settings::load(&args).unwrap().redirect_uri(), "https://example.com/keyway/oauth");
    }

    #[test]
    fn database_url_takes_sqlite_or_postgres_and_never_echoes_a_password() {
        for ok in ["sqlite:/tmp/k.db", "sqlite://k.db", "postgresql://u@h/db", "postgres://u:p@h:5432/db"] {
            let args = ServeArgs { database_url: Some(ok.into()), ..ServeArgs::default() };
            Settings::load(&args).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let args = ServeArgs { database_url: Some("mysql://root:hunter2@db/k".into()), ..ServeArgs::default() };
        let message = error_text(&args);
        assert!(message.contains("`mysql:` databases are not supported"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
        let args = ServeArgs { database_url: Some("sqlite:".into()), ..ServeArgs::default() };
        assert!(error_text(&args).contains("no file path"));

        let args = ServeArgs { database_url: Some("postgres://keyway:hunter2@db/k".into()), ..ServeArgs::default() };
        let settings = Settings::load(&args).unwrap();
        assert_eq!(settings.database_url_redacted(), "postgres://keyway:***@db/k");
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn quotas_and_the_hook_cap_come_from_the_limits_table() {
        let file = TempToml::new(
            "[limits]\nmax_concurrent_calls = 10\nintegration_concurrent_calls = 2\nquota_wait = \"1s\"\nhook_max_calls = 5\n",
        );
        let limits = Settings::load(&file.args()).unwrap().limits;
        assert_eq!(limits.integration_concurrent_calls, 2);
        assert_eq!(limits.quota_wait, Duration::from_secs(1));
        assert_eq!(limits.hook_max_calls, 5);

        let file = TempToml::new("[limits]\nmax_concurrent_calls = 8\nintegration_concurrent_calls = 8\n");
        let error = error_text(&file.args());
        assert!(error.starts_with("`limits.integration_concurrent_calls` in "), "{error}");
        assert!(error.contains("below `limits.max_concurrent_calls`"), "{error}");
        let file = TempToml::new("[limits]\nhook_max_calls = 0\n");
        assert!(error_text(&file.args()).starts_with("`limits.hook_max_calls` in "));
        let file = TempToml::new("[limits]\nquota_wait = \"soon\"\n");
        assert!(error_text(&file.args()).starts_with("`limits.quota_wait` in "));
    }

    #[test]
    fn the_limits_table_overrides_only_what_it_names() {
        let file = TempToml::new("[limits]\ncall_timeout = \"5s\"\nmax_memory_mib = 64\n");
        let limits = Settings::load(&file.args()).unwrap().limits;
        assert_eq!(limits.call_timeout, Duration::from_secs(5));
        assert_eq!(limits.max_memory_bytes, 64 << 20);
        assert_eq!(limits.cpu_budget, Limits::default().cpu_budget);
        let file = TempToml::new("[limits]\nmax_memory_mib = 0\n");
        assert!(error_text(&file.args()).contains("`limits.max_memory_mib` in"));
    }

    #[test]
    fn the_cache_size_comes_from_a_flag_or_the_file_and_zero_turns_it_off() {
        let defaults = Settings::load(&TempToml::new("").args()).unwrap();
        assert_eq!(defaults.cache_entries, crate::service::DEFAULT_CACHE_ENTRIES);
        let file = TempToml::new("cache_entries = 0\n");
        assert_eq!(Settings::load(&file.args()).unwrap().cache_entries, 0);
        let args = ServeArgs { cache_entries: Some(25), ..file.args() };
        assert_eq!(Settings::load(&args).unwrap().cache_entries, 25);
    }

    #[test]
    fn the_metrics_listener_is_off_by_default_and_comes_from_a_flag_or_the_file() {
        assert_eq!(Settings::load(&ServeArgs::default()).unwrap().metrics_listen, None, "off unless asked for");
        let file = TempToml::new("metrics_listen = \"127.0.0.1:9400\"\n");
        assert_eq!(Settings::load(&file.args()).unwrap().metrics_listen, Some("127.0.0.1:9400".parse().unwrap()));
        let flag = Wrapper::try_parse_from(["keyway", "--metrics-listen", "0.0.0.0:9401"]).unwrap().serve;
        let args = ServeArgs { config: file.args().config, ..flag };
        assert_eq!(
            Settings::load(&args).unwrap().metrics_listen,
            Some("0.0.0.0:9401".parse().unwrap()),
            "the flag wins"
        );

        let file = TempToml::new("metrics_listen = \"9400\"\n");
        let message = error_text(&file.args());
        assert!(message.starts_with("`metrics_listen` in "), "{message}");
        assert!(message.contains("write e.g. `127.0.0.1:9400`"), "{message}");
        let args = ServeArgs {
            listen: Some("127.0.0.1:9000".parse().unwrap()),
            metrics_listen: Some("127.0.0.1:9000".parse().unwrap()),
            ..ServeArgs::default()
        };
        let message = error_text(&args);
        assert!(message.starts_with("`--metrics-listen` (or KEYWAY_METRICS_LISTEN): "), "{message}");
        assert!(message.contains("off the public one"), "{message}");
    }

    #[test]
    fn what_stays_resident_between_calls_comes_from_the_limits_table() {
        let limits = Settings::load(&TempToml::new("").args()).unwrap().limits;
        assert_eq!(limits.keep_resident_memory_bytes, Limits::default().keep_resident_memory_bytes);
        let file = TempToml::new("[limits]\nkeep_resident_memory_kib = 256\nkeep_resident_table_kib = 16\n");
        let limits = Settings::load(&file.args()).unwrap().limits;
        assert_eq!(limits.keep_resident_memory_bytes, 256 << 10);
        assert_eq!(limits.keep_resident_table_bytes, 16 << 10);
        let file = TempToml::new(&format!("[limits]\nkeep_resident_memory_kib = {}\n", u64::MAX));
        assert!(error_text(&file.args()).starts_with("`limits.keep_resident_memory_kib` in "));
    }
}
