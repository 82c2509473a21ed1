//! A `keyway serve` child process, started from the running binary, for figures that must
//! be the server's own: its resident memory, read from `/proc/<pid>/status`, without the load
//! generator's sockets and buffers in it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::keyway::Api;
use crate::crypto::MasterKey;
use crate::keys::ApiKey;

/// How long a start may take: a debug build compiling the built-in components is slow.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the most ever resident.
    pub peak_kib: u64,
}

/// A running `keyway serve`; killed when dropped.
#[derive(Debug)]
pub struct ServeChild {
    /// Its admin client.
    pub api: Api,
    child: Child,
    log: PathBuf,
}

impl ServeChild {
    /// Starts `keyway serve` on 127.0.0.1 port 0 with the settings file `config` (TOML), the
    /// data directory `data_dir` (for its compiled-plugin cache) and the SQLite file `db`,
    /// egress open to 127.0.0.1; its output goes to `log`. Returns once it is healthy.
    pub async fn start(config: &str, data_dir: &Path, db: &Path, log: PathBuf) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the running binary")?;
        if !exe.file_stem().is_some_and(|s| s.to_string_lossy().starts_with("keyway")) {
            bail!("this benchmark starts `keyway serve` from the running binary; run it as `keyway bench`");
        }
        let config_file = log.with_extension("toml");
        std::fs::write(&config_file, config).with_context(|| format!("writing {}", config_file.display()))?;
        let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let admin = ApiKey::generate();
        let mut command = Command::new(&exe);
        // Only the settings given here: none from the bench's own environment.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("KEYWAY_") {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--allow-network", "127.0.0.1"])
            .arg("--config")
            .arg(&config_file)
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--database-url")
            .arg(format!("sqlite:{}", db.display()))
            .env("KEYWAY_ADMIN_KEY", admin.secret())
            .env("KEYWAY_MASTER_KEY", MasterKey::generate().to_base64())
            // The start line says where it listens; nothing else is wanted.
            .env("KEYWAY_LOG", "warn,keyway::serve=info")
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = command.spawn().with_context(|| format!("starting {} serve", exe.display()))?;
        let mut this = Self { api: Api::new(String::new(), admin.secret().to_string()), child, log };
        this.api.base = format!("http://{}", this.wait_listening().await?);
        let health = this.api.http.get(format!("{}/healthz", this.api.base)).send().await?;
        if !health.status().is_success() {
            bail!("`keyway serve` answered {} on /healthz; its output:\n{}", health.status(), this.tail());
        }
        Ok(this)
    }

    /// Reads the address from its start line, `keyway is serving listen=127.0.0.1:<port>`.
    async fn wait_listening(&mut self) -> anyhow::Result<String> {
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("keyway is serving"))
                && let Some(rest) = line.split("listen=").nth(1)
            {
                return Ok(rest.split_whitespace().next().unwrap_or_default().to_string());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("`keyway serve` exited ({status}) before serving; its output:\n{}", self.tail());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!("`keyway serve` did not start within {START_TIMEOUT:?}; its output:\n{}", self.tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Its resident memory now, and its peak.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path} (Linux only)"))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line =
                status.lines().find_map(|l| l.strip_prefix(name)).with_context(|| format!("no {name} in {path}"))?;
            let kib = line.trim_start_matches(':').trim().trim_end_matches("kB").trim();
            kib.parse().with_context(|| format!("{name} in {path}: `{line}`"))
        };
        Ok(Memory { rss_kib: field("VmRSS")?, peak_kib: field("VmHWM")? })
    }

    /// The end of its output, for error messages.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
