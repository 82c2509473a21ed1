//! A PostgreSQL database for tests: a fresh, empty database per call, on the server that
//! `KEYWAY_TEST_DATABASE_URL` names, or else on a throwaway cluster that this process starts
//! with `initdb` and that goes away with it.
//!
//! When neither is possible, [`test_database`] panics under `CI=true` (a test that needs a missing
//! service fails in CI) and otherwise prints why PostgreSQL tests are skipped, and returns `None`.
//!
//! The throwaway cluster lives in a temporary directory owned by the `postgres` OS user
//! (`initdb` and `postgres` refuse to run as root, so as root they run through `runuser -u
//! postgres`). It listens on 127.0.0.1, on a free port, with its socket in that directory, and
//! trusts every local connection. Cleanup does not rely on destructors, which never run for
//! statics: one supervisor shell, in its own process group, makes the directory, runs `initdb`
//! and `pg_ctl start`, reports readiness, and then reads a pipe that only this process holds
//! open. When this process ends, however it ends (normal exit, panic, Ctrl-C, `kill -9`, even
//! half-way through setup), the pipe closes and the supervisor stops the cluster (immediate
//! shutdown) and deletes the directory. On a normal exit an `atexit` handler also closes the
//! pipe and waits for the supervisor, so the cluster is gone before the test process is.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// The environment variable naming an existing server to use instead of a throwaway cluster.
/// Its user must be allowed to create databases.
pub const URL_VAR: &str = "KEYWAY_TEST_DATABASE_URL";

/// A fresh, empty database, for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// `postgres://…` URL of the database, ready for `keyway_store::connect`.
    pub url: String,
    /// The database's name.
    pub name: String,
    /// The server's admin URL, when the database must be dropped after the test (on a server that
    /// outlives this process). Databases on the throwaway cluster go with the cluster.
    drop_through: Option<String>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(admin_url) = self.drop_through.take() else { return };
        let name = self.name.clone();
        // Drop may run inside the test's runtime, which cannot be blocked on: use a thread with a
        // runtime of its own. FORCE ends connections a pool may still hold.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut admin).await?;
                admin.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            let _ = writeln!(std::io::stderr(), "keyway-tests: could not drop test database `{}`: {e}", self.name);
        }
    }
}

/// A fresh database on the test server, or `None` (after saying why on stderr) when there is no
/// PostgreSQL to test against outside CI.
///
/// # Panics
///
/// With `CI=true` when there is no PostgreSQL; and whenever the server cannot create a database
/// (a broken server, or a `KEYWAY_TEST_DATABASE_URL` that does not work), since that is not a
/// missing service but a failure to report.
pub async fn test_database() -> Option<TestDatabase> {
    let server = match server() {
        Ok(server) => server,
        Err(why) => {
            skip(&why);
            return None;
        }
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    // Unique across processes sharing one server, and a valid identifier without quoting.
    let name = format!("keyway_test_{}_{}_{nanos}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));

    let mut admin = PgConnection::connect(&server.admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL ({}): {e}", server.describe()));
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create a test database on {}: {e}", server.describe()));
    let _ = admin.close().await;

    let mut url = url::Url::parse(&server.admin_url).expect("the admin URL parsed when it was connected to");
    url.set_path(&name);
    let drop_through = server.external.then(|| server.admin_url.clone());
    Some(TestDatabase { url: url.into(), name, drop_through })
}

/// Where test databases are created.
struct Server {
    /// A URL to a database on it (`postgres` or the given one) as a user who may create databases.
    admin_url: String,
    /// Whether it is the user's server (`KEYWAY_TEST_DATABASE_URL`) rather than our cluster.
    external: bool,
}

impl Server {
    fn describe(&self) -> String {
        if self.external { format!("the server {URL_VAR} names") } else { "the throwaway cluster".to_string() }
    }
}

/// The server for this process: found or started once.
fn server() -> Result<&'static Server, String> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| match std::env::var(URL_VAR) {
            Ok(url) if !url.trim().is_empty() => Ok(Server { admin_url: url.trim().to_string(), external: true }),
            _ => Cluster::start().map(|port| Server {
                admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
                external: false,
            }),
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// In CI, a missing PostgreSQL fails the test; elsewhere it is skipped, saying why once.
fn skip(why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    if ci {
        panic!(
            "PostgreSQL tests must run in CI, but {why}. Install PostgreSQL (the Debian package `postgresql`) \
             or set {URL_VAR}=postgres://user:password@host/postgres"
        );
    }
    static SAID: OnceLock<()> = OnceLock::new();
    SAID.get_or_init(|| {
        // Straight to stderr: libtest captures `eprintln!` of passing tests, and this must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "keyway-tests: skipping PostgreSQL tests: {why}. Install PostgreSQL (`initdb` and `pg_ctl` in \
             /usr/lib/postgresql/*/bin or on PATH) or set {URL_VAR}; with CI=true they fail instead."
        );
    });
}

/// The throwaway cluster's supervisor and the pipe it reads: closing the pipe stops the cluster.
static SUPERVISOR: Mutex<Option<(ChildStdin, Child)>> = Mutex::new(None);

/// Runs at normal process exit: closes the pipe and waits (boundedly) for the supervisor to stop
/// the cluster and delete its directory.
extern "C" fn stop_cluster_at_exit() {
    let Ok(mut guard) = SUPERVISOR.try_lock() else { return };
    let Some((pipe, mut supervisor)) = guard.take() else { return };
    drop(pipe);
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if !matches!(supervisor.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The cluster's whole life, in one shell that nothing in the test process can interrupt: make
/// the directory, `initdb`, `pg_ctl start`, report `ready` (or what failed) on stdout, then wait
/// for end of file on stdin (the test process has exited, however it exited), stop the server
/// (immediate shutdown) and delete the directory. Because setup and teardown run in sequence in
/// this one process, a test process killed half-way through setup still leaves nothing behind.
///
/// Arguments: temp dir, port, PostgreSQL bin dir, then the command prefix that runs a program as
/// the server's OS user (`runuser -u postgres --`, or nothing).
const SUPERVISOR_SCRIPT: &str = r#"
# If the test process is already gone, reporting must not kill us (SIGPIPE): cleanup follows.
trap '' PIPE
tmp=$1 port=$2 bin=$3
shift 3
if base=$("$@" mktemp -d -p "$tmp" keyway-pg.XXXXXX 2>&1); then
    if "$@" "$bin/initdb" -D "$base/data" -U postgres --auth=trust -E UTF8 --locale=C --no-sync \
            >"$base/initdb.log" 2>&1 </dev/null \
        && "$@" "$bin/pg_ctl" -D "$base/data" -l "$base/postgres.log" -w -t 60 -o \
            "-p $port -k $base -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >"$base/pg_ctl.log" 2>&1 </dev/null
    then
        echo ready
    else
        echo "failed in $base:"
        tail -n 4 "$base/initdb.log" "$base/pg_ctl.log" "$base/postgres.log" 2>/dev/null
    fi
else
    echo "mktemp failed: $base"
    base=
fi
exec >/dev/null
cat >/dev/null
if [ -n "$base" ]; then
    pid=$(head -n 1 "$base/data/postmaster.pid" 2>/dev/null)
    if [ -n "$pid" ]; then
        kill -QUIT "$pid" 2>/dev/null
        while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    fi
    rm -rf "$base"
fi
"#;

struct Cluster;

impl Cluster {
    /// Starts the cluster under its supervisor; returns the port it listens on.
    fn start() -> Result<u16, String> {
        let bin = find_bin_dir().ok_or("neither /usr/lib/postgresql/*/bin nor PATH has `initdb` and `pg_ctl`")?;
        // SAFETY: geteuid has no preconditions.
        let as_root = unsafe { libc::geteuid() } == 0;
        let mut last_error = String::new();
        // A free port can be taken between our probe and the server's bind: try a few.
        for _ in 0..3 {
            let port = free_port().map_err(|e| format!("cannot find a free port: {e}"))?;
            let mut command = Command::new("sh");
            command
                .args(["-c", SUPERVISOR_SCRIPT, "keyway-pg-supervisor"])
                .arg(std::env::temp_dir())
                .arg(port.to_string())
                .arg(&bin);
            if as_root {
                // initdb and postgres refuse to run as root.
                command.args(["runuser", "-u", "postgres", "--"]);
            }
            let mut supervisor = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                // Out of the terminal's process group: Ctrl-C ends the tests, not the cleanup.
                .process_group(0)
                .spawn()
                .map_err(|e| format!("cannot run `sh`: {e}"))?;
            let pipe = supervisor.stdin.take().expect("stdin is piped");
            let mut report = String::new();
            // Ends when the supervisor is done starting: it then closes its stdout.
            let _ = supervisor.stdout.take().expect("stdout is piped").read_to_string(&mut report);
            if report.trim() == "ready" {
                *SUPERVISOR.lock().unwrap_or_else(|e| e.into_inner()) = Some((pipe, supervisor));
                static REGISTERED: OnceLock<()> = OnceLock::new();
                REGISTERED.get_or_init(|| {
                    // SAFETY: registers a plain `extern "C" fn()` that lives as long as the program.
                    unsafe { libc::atexit(stop_cluster_at_exit) };
                });
                return Ok(port);
            }
            // Let the supervisor clean up what it made before trying again.
            drop(pipe);
            let _ = supervisor.wait();
            last_error = report.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        Err(format!("the throwaway PostgreSQL cluster did not start: {last_error}"))
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The newest `/usr/lib/postgresql/<version>/bin`, else the directory on PATH that has `initdb`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).find(|dir| has_tools(dir))
}
