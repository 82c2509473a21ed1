//! `keyway bench`: issue #11's benchmark suite.
//!
//! Every figure is printed next to a baseline measured in the same run, on the same machine,
//! in the same process tree, and the ratio between them is what the targets judge: the
//! machine is shared and noisy, so only ratios compare between runs. Every server binds to
//! 127.0.0.1 port 0; nothing leaves loopback.
//!
//! - [`load`]: the load generator (concurrent tokio tasks, a latency histogram).
//! - [`marker`]: the marks between timed segments, for counting a row under callgrind.
//! - [`upstream`]: the app's Web API the calls go to, answering static JSON after a delay.
//! - [`passthrough`]: the baseline of the `/request` rows, a bare axum + reqwest forwarder.
//! - [`keyway`]: an in-process Keyway server, assembled from the library as `serve` does.
//! - [`child`]: a `keyway serve` child process, for the memory row.
//! - [`rows`]: one module per benchmark, each returning its [`Row`]s.
//! - [`report`]: the table, the "how to read this" and the JSON file.
//!
//! A new benchmark is one more module in [`rows`] returning its rows; the table and the JSON
//! take any number.

pub mod child;
pub mod keyway;
pub mod load;
pub mod marker;
pub mod passthrough;
pub mod report;
pub mod rows;
pub mod upstream;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use report::{Measure, Report, Row, Target, Verdict};

/// `keyway bench` flags.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BenchArgs {
    /// A smoke run of a few seconds: every row, with few iterations. Its figures are not worth
    /// comparing; CI runs it on the debug binary to check that the bench still works.
    #[arg(long)]
    pub quick: bool,
    /// Also run the `/request` rows on this PostgreSQL database (a throwaway one: the bench
    /// registers an admin key and integrations in it).
    #[arg(long, env = "KEYWAY_BENCH_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub postgres: Option<String>,
    /// Where to write the results as JSON.
    #[arg(long, value_name = "FILE", default_value = "target/bench.json")]
    pub json: PathBuf,
    /// Runs only these benchmarks (comma-separated), to profile one row without waiting for
    /// the others: `request`, `hook`, `exchange`, `action`, `startup`, `memory`, `propagation`.
    #[arg(long, value_name = "BENCHMARKS", value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(rows::GROUPS))]
    pub only: Vec<String>,
    /// The length of each timed segment of the interleaved (`/request`) rows, in milliseconds,
    /// instead of the plan's 1,500 (250 with `--quick`). Under callgrind, where everything runs
    /// about 50 times slower, longer segments keep each one's fixed cost (spawning the load
    /// tasks) from weighing on its per-call figures.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub segment_ms: Option<u64>,
}

/// How long and how hard each benchmark runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `--quick`.
    pub quick: bool,
    /// One timed segment of a fixed-duration load run; each side runs `rounds` of them,
    /// interleaved with the other side's, so drift in the machine's load hits both alike.
    pub segment: Duration,
    /// Segments per side.
    pub rounds: usize,
    /// Untimed warm-up before each side's first segment.
    pub warmup: Duration,
    /// Hook calls timed one by one.
    pub hook_iterations: usize,
    /// Code exchanges timed one by one (c=1), and how many run concurrently for throughput.
    pub exchanges: usize,
    /// Concurrency of the exchange throughput run.
    pub exchange_concurrency: usize,
    /// Composite actions (and triples of pass-through calls) timed one by one.
    pub action_rounds: usize,
    /// Plugins installed for the start-up row.
    pub startup_plugins: usize,
    /// Action runs in flight at once for the memory row.
    pub inflight_runs: usize,
    /// How long the upstream of the memory row takes to answer.
    pub slow_upstream: Duration,
    /// Changes timed from one replica to the other, for the propagation row.
    pub propagation_trials: usize,
}

impl Plan {
    /// The full run (about three minutes on two cores) or the `--quick` smoke run.
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                quick,
                segment: Duration::from_millis(250),
                rounds: 1,
                warmup: Duration::from_millis(50),
                hook_iterations: 200,
                exchanges: 10,
                exchange_concurrency: 4,
                action_rounds: 10,
                startup_plugins: 2,
                inflight_runs: 100,
                slow_upstream: Duration::from_millis(200),
                propagation_trials: 2,
            }
        } else {
            Self {
                quick,
                segment: Duration::from_millis(1500),
                rounds: 3,
                warmup: Duration::from_millis(500),
                hook_iterations: 5000,
                exchanges: 300,
                exchange_concurrency: 8,
                action_rounds: 300,
                startup_plugins: 20,
                inflight_runs: 1000,
                // 200 ms let only ~400 of 1,000 runs reach the upstream together on two shared
                // cores (the rest were still being admitted): long enough to hold them all.
                slow_upstream: Duration::from_millis(1000),
                propagation_trials: 25,
            }
        }
    }

    /// The plan `args` ask for: the full run or `--quick`, with `--segment-ms` applied.
    pub fn for_args(args: &BenchArgs) -> Self {
        let mut plan = Self::new(args.quick);
        if let Some(ms) = args.segment_ms {
            plan.segment = Duration::from_millis(ms);
        }
        plan
    }
}

/// Runs every benchmark, prints the table to `out` and writes the JSON file.
pub async fn run(args: BenchArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let plan = Plan::for_args(&args);
    let started = Instant::now();
    writeln!(
        out,
        "keyway bench ({}, {} build): every row against a baseline measured in this run",
        if plan.quick { "--quick smoke run: figures not comparable" } else { "full run" },
        if cfg!(debug_assertions) { "debug" } else { "release" },
    )?;
    out.flush()?;
    let rows = rows::run_all(&plan, &args.only, args.postgres.as_deref(), &mut *out).await?;
    let report = Report::new(&plan, rows, started.elapsed());
    report.check_complete()?;
    report.write_table(out)?;
    report.write_json(&args.json)?;
    writeln!(out, "\nwrote {} ({:.1} s in all)", args.json.display(), started.elapsed().as_secs_f64())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        bench: super::BenchArgs,
    }

    #[test]
    fn only_takes_a_list_of_known_benchmarks_and_names_them_when_one_is_not() {
        let cli = Cli::try_parse_from(["keyway", "--only", "hook,exchange"]).unwrap();
        assert_eq!(cli.bench.only, ["hook", "exchange"]);
        let error = Cli::try_parse_from(["keyway", "--only", "hooks"]).err().unwrap().to_string();
        assert!(error.contains("invalid value 'hooks'"), "{error}");
        assert!(error.contains("request, hook, exchange, action, startup, memory, propagation"), "{error}");
    }

    #[test]
    fn segment_ms_lengthens_only_the_segments() {
        let cli = Cli::try_parse_from(["keyway", "--quick", "--segment-ms", "6000"]).unwrap();
        let plan = super::Plan::for_args(&cli.bench);
        assert_eq!(plan.segment, std::time::Duration::from_secs(6));
        assert_eq!(plan.rounds, super::Plan::new(true).rounds, "the rest of the --quick plan stays");
        let default = super::Plan::for_args(&Cli::try_parse_from(["keyway"]).unwrap().bench);
        assert_eq!(default.segment, super::Plan::new(false).segment);
        let error = Cli::try_parse_from(["keyway", "--segment-ms", "0"]).err().unwrap().to_string();
        assert!(error.contains("--segment-ms"), "{error}");
    }
}
