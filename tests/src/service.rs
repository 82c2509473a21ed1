//! What [`crate::oidc`] and [`crate::browser`] share: the CI-or-skip rule for a missing service,
//! and a child process that cannot outlive the test process.

use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

/// Whether this is a CI run (`CI=true`), where a test that needs a missing service fails.
pub(crate) fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// In CI, a missing service fails the test (panics, saying how to install it); elsewhere the test is
/// skipped, and `said` makes sure the reason is printed once per process, not once per test.
pub(crate) fn skip(service: &str, why: &str, fix: &str, said: &OnceLock<()>) {
    if ci() {
        panic!("{service} tests must run in CI, but {why}. {fix}");
    }
    said.get_or_init(|| {
        // Straight to stderr: libtest captures `eprintln!` of passing tests, and this must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "keyway-tests: skipping {service} tests: {why}. {fix}; with CI=true they fail instead."
        );
    });
}

/// Runs a program under a supervisor shell, in a process group of its own, and holds the write end of
/// a pipe the supervisor reads. However the test process ends (a panic, Ctrl-C, `kill -9`), the pipe
/// closes and the supervisor kills the whole group: the program and everything it started (Chromium's
/// many processes under chromedriver). Dropping a `Supervised` does the same at once.
pub(crate) struct Supervised {
    lifeline: Option<ChildStdin>,
    supervisor: Child,
}

/// `"$@"` in the background with the supervisor's stdout and stderr (the caller's pipes), then the
/// supervisor lets go of those pipes (so they end when the program does) and waits for end of file on
/// its stdin before killing its process group (`0`: itself, the program and the program's children).
const SUPERVISOR_SCRIPT: &str = r#"
"$@" </dev/null &
exec >/dev/null 2>&1
cat >/dev/null
kill -9 0
"#;

impl Supervised {
    /// Starts `program args…` with `envs` added to the environment, in `dir`; returns the process and
    /// the program's stdout and stderr.
    pub(crate) fn spawn<I, S>(
        program: &OsStr,
        args: I,
        envs: &[(&str, &str)],
        dir: &std::path::Path,
    ) -> std::io::Result<(Self, ChildStdout, ChildStderr)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Command::new("sh");
        command.args(["-c", SUPERVISOR_SCRIPT, "keyway-test-supervisor"]).arg(program).args(args);
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut supervisor = command
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so that `kill -9 0` ends exactly the program and its children.
            .process_group(0)
            .spawn()?;
        let lifeline = supervisor.stdin.take();
        let stdout = supervisor.stdout.take().expect("stdout is piped");
        let stderr = supervisor.stderr.take().expect("stderr is piped");
        Ok((Self { lifeline, supervisor }, stdout, stderr))
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        // Not waiting for the supervisor to notice: kill the group now. The pid is the group's id.
        if let Ok(pid) = i32::try_from(self.supervisor.id()) {
            // SAFETY: kill(2) has no memory-safety preconditions; a negative pid names a process group.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
        }
        let _ = self.supervisor.wait();
    }
}

/// Reads `stream` to its end on a thread, keeping the last `limit` bytes, for error messages.
pub(crate) fn collect_tail(
    mut stream: impl std::io::Read + Send + 'static,
    limit: usize,
) -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
    let tail = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = tail.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut tail = sink.lock().unwrap_or_else(|e| e.into_inner());
            tail.extend_from_slice(&buf[..n]);
            if tail.len() > limit {
                let excess = tail.len() - limit;
                tail.drain(..excess);
            }
        }
    });
    tail
}

/// The text `collect_tail` has kept so far.
pub(crate) fn tail_text(tail: &std::sync::Mutex<Vec<u8>>) -> String {
    String::from_utf8_lossy(&tail.lock().unwrap_or_else(|e| e.into_inner())).trim().to_string()
}
