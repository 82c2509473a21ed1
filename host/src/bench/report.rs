//! The results: rows of a figure, its same-run baseline, their ratio and the issue's target;
//! printed as a table with a short "how to read this", and written as JSON with the machine.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::Plan;

/// One figure and its unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    /// The number, in `unit`.
    pub value: f64,
    /// `rps`, `µs`, `ms`, `MiB`, `/s`.
    pub unit: &'static str,
}

impl Measure {
    /// Requests per second.
    pub fn rps(value: f64) -> Self {
        Self { value, unit: "rps" }
    }

    /// Operations per second (exchanges, runs).
    pub fn per_second(value: f64) -> Self {
        Self { value, unit: "/s" }
    }

    /// A latency, kept in microseconds.
    pub fn latency(d: Duration) -> Self {
        Self { value: d.as_secs_f64() * 1e6, unit: "µs" }
    }

    /// A longer time, in milliseconds.
    pub fn millis(d: Duration) -> Self {
        Self { value: d.as_secs_f64() * 1e3, unit: "ms" }
    }

    /// Mebibytes.
    pub fn mib(value: f64) -> Self {
        Self { value, unit: "MiB" }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit {
            // Latencies switch to ms past 10 ms, where µs digits stop meaning anything.
            "µs" if self.value >= 10_000.0 => write!(f, "{:.1} ms", self.value / 1e3),
            "µs" if self.value < 10.0 => write!(f, "{:.2} µs", self.value),
            "µs" | "rps" | "/s" | "MiB" if self.value >= 100.0 => write!(f, "{:.0} {}", self.value, self.unit),
            _ => write!(f, "{:.1} {}", self.value, self.unit),
        }
    }
}

/// What the issue asks of a row. The ratio is always Keyway's figure over the baseline's.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Throughput: the ratio at least this (`≥ 0.8×`).
    RatioAtLeast(f64),
    /// Time or size: the ratio at most this (`≤ 1.3×`).
    RatioAtMost(f64),
    /// Latency: Keyway's figure at most this much over the baseline's (`≤ +50 µs`).
    AddedAtMost(Duration),
    /// Latency: Keyway's figure at most `max`, and the ratio at most `ratio`.
    AtMostAndRatio {
        /// The absolute bound.
        max: Duration,
        /// The ratio bound.
        ratio: f64,
    },
    /// Keyway's figure at most this, in its own unit (`≤ 1024 MiB`); the baseline is context.
    AtMost(Measure),
    /// No target: the figure is reported, never judged (the cross-replica propagation latency).
    Reported,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::RatioAtLeast(r) => write!(f, "≥ {r:.2}×"),
            Target::RatioAtMost(r) => write!(f, "≤ {r:.2}×"),
            Target::AddedAtMost(d) => write!(f, "≤ +{} µs", d.as_micros()),
            Target::AtMostAndRatio { max, ratio } => write!(f, "≤ {} µs and ≤ {ratio:.0}×", max.as_micros()),
            Target::AtMost(m) => write!(f, "≤ {m}"),
            Target::Reported => f.write_str("reported"),
        }
    }
}

/// Whether a row met its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Met.
    Pass,
    /// Missed.
    Miss,
    /// Measured and reported; the row has no target.
    Reported,
    /// Not measured in this run, and why.
    Skipped(String),
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => f.write_str("pass"),
            Verdict::Miss => f.write_str("miss"),
            Verdict::Reported => f.write_str("—"),
            Verdict::Skipped(why) => write!(f, "skipped: {why}"),
        }
    }
}

/// One benchmark's result.
#[derive(Debug, Clone)]
pub struct Row {
    /// A stable key for the JSON (`request_rps_c64_0ms_sqlite`), so runs can be compared by tools.
    pub id: String,
    /// What is measured, for people.
    pub benchmark: String,
    /// Keyway's figure; `None` when skipped.
    pub keyway: Option<Measure>,
    /// The same-run baseline's figure.
    pub baseline: Option<Measure>,
    /// The issue's target.
    pub target: Target,
    /// What the reader needs to know about how this row was measured, printed under the table.
    pub note: Option<String>,
    /// Raw figures beyond the row's two (p99s, counts, settings), for the JSON.
    pub details: Value,
}

impl Row {
    /// A measured row.
    pub fn measured(id: &str, benchmark: &str, keyway: Measure, baseline: Measure, target: Target) -> Self {
        Self {
            id: id.into(),
            benchmark: benchmark.into(),
            keyway: Some(keyway),
            baseline: Some(baseline),
            target,
            note: None,
            details: Value::Null,
        }
    }

    /// A row this run could not measure, saying why.
    pub fn skipped(id: &str, benchmark: &str, target: Target, why: &str) -> Self {
        Self {
            id: id.into(),
            benchmark: benchmark.into(),
            keyway: None,
            baseline: None,
            target,
            note: Some(why.into()),
            details: Value::Null,
        }
    }

    /// With a note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// With raw details for the JSON.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Keyway's figure over the baseline's.
    pub fn ratio(&self) -> Option<f64> {
        Some(self.keyway?.value / self.baseline?.value)
    }

    /// Whether the target is met.
    pub fn verdict(&self) -> Verdict {
        let (Some(keyway), Some(ratio)) = (self.keyway, self.ratio()) else {
            return Verdict::Skipped(self.note.clone().unwrap_or_else(|| "not measured".into()));
        };
        let baseline = self.baseline.map_or(0.0, |b| b.value);
        let micros = |d: &Duration| d.as_secs_f64() * 1e6;
        let met = match &self.target {
            Target::Reported => return Verdict::Reported,
            Target::RatioAtLeast(r) => ratio >= *r,
            Target::RatioAtMost(r) => ratio <= *r,
            Target::AddedAtMost(d) => keyway.value - baseline <= micros(d),
            Target::AtMostAndRatio { max, ratio: r } => keyway.value <= micros(max) && ratio <= *r,
            Target::AtMost(m) => keyway.value <= m.value,
        };
        if met { Verdict::Pass } else { Verdict::Miss }
    }
}

/// Every row of one run, and how it was run.
#[derive(Debug)]
pub struct Report {
    quick: bool,
    rows: Vec<Row>,
    elapsed: Duration,
}

/// Printed once under the table.
const HOW_TO_READ: &str = "\
How to read this: each row runs Keyway and its baseline in this same run, interleaved where
they can be, on this machine. The machine is shared and noisy, so compare ratios between runs,
not raw figures. ratio = Keyway / baseline: above 1 is better for rps and /s, worse for times
and sizes; the target column says which way each row must go. \"+50 µs\" targets judge the
difference of the two medians. In the JSON, each load row's sides carry cpu_us_per_call: the
whole bench process's CPU time per call, so their difference is what Keyway costs per request
more than its baseline. A --quick run is a smoke test: its figures mean nothing.";

impl Report {
    /// The rows of a run with `plan`, which took `elapsed`.
    pub fn new(plan: &Plan, rows: Vec<Row>, elapsed: Duration) -> Self {
        Self { quick: plan.quick, rows, elapsed }
    }

    /// The rows.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Fails when a measured row has a figure that is not a finite positive number: a bench
    /// that measured nothing must fail CI, not print `NaN`.
    pub fn check_complete(&self) -> anyhow::Result<()> {
        for row in &self.rows {
            if matches!(row.verdict(), Verdict::Skipped(_)) && row.keyway.is_none() {
                continue;
            }
            let figures = [row.keyway, row.baseline, row.ratio().map(|r| Measure { value: r, unit: "" })];
            if let Some(bad) = figures.iter().find(|m| !m.is_some_and(|m| m.value.is_finite() && m.value > 0.0)) {
                bail!("the bench row `{}` measured no usable figure ({bad:?}); this is a bug in the bench", row.id);
            }
        }
        Ok(())
    }

    /// The table, its notes and the "how to read this".
    pub fn write_table(&self, out: &mut impl Write) -> std::io::Result<()> {
        let dash = || "—".to_string();
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| {
                vec![
                    row.benchmark.clone(),
                    row.keyway.map_or_else(dash, |m| m.to_string()),
                    row.baseline.map_or_else(dash, |m| m.to_string()),
                    // A reported row's baseline is context, not a bar to divide by.
                    row.ratio()
                        .filter(|_| row.target != Target::Reported)
                        .map_or_else(dash, |r| if r < 0.1 { format!("{r:.3}×") } else { format!("{r:.2}×") }),
                    row.target.to_string(),
                    row.verdict().to_string(),
                ]
            })
            .collect();
        writeln!(out)?;
        crate::cli::write_table(out, &["benchmark", "Keyway", "baseline", "ratio", "target", "verdict"], &cells)?;
        let notes: Vec<&Row> = self.rows.iter().filter(|r| r.note.is_some() && r.keyway.is_some()).collect();
        if !notes.is_empty() {
            writeln!(out, "\nNotes:")?;
            for row in notes {
                writeln!(out, "- {}: {}", row.benchmark, row.note.as_deref().unwrap_or_default())?;
            }
        }
        writeln!(out, "\n{HOW_TO_READ}")
    }

    /// The same data as the table, plus the machine, as JSON.
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let measure = |m: Option<Measure>| m.map(|m| json!({"value": m.value, "unit": m.unit}));
                json!({
                    "id": row.id,
                    "benchmark": row.benchmark,
                    "keyway": measure(row.keyway),
                    "baseline": measure(row.baseline),
                    "ratio": row.ratio(),
                    "target": row.target.to_string(),
                    "verdict": match row.verdict() {
                        Verdict::Skipped(_) => "skipped".to_string(),
                        Verdict::Reported => "reported".to_string(),
                        v => v.to_string(),
                    },
                    "note": row.note,
                    "details": row.details,
                })
            })
            .collect();
        json!({
            "keyway_version": env!("CARGO_PKG_VERSION"),
            "mode": if self.quick { "quick" } else { "full" },
            "build": if cfg!(debug_assertions) { "debug" } else { "release" },
            "started_at_unix": SystemTime::now().checked_sub(self.elapsed).and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs()),
            "duration_s": self.elapsed.as_secs_f64(),
            "machine": machine(),
            "rows": rows,
        })
    }

    /// Writes [`Report::to_json`] to `path`, creating its directory.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {} for --json", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&self.to_json())?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing --json {}", path.display()))
    }
}

/// Cores, CPU model, OS: what a reader needs before comparing two JSON files.
fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
    });
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "cpu": cpu,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(keyway: Measure, baseline: Measure, target: Target) -> Row {
        Row::measured("r", "r", keyway, baseline, target)
    }

    #[test]
    fn each_target_judges_its_own_direction() {
        assert_eq!(row(Measure::rps(900.0), Measure::rps(1000.0), Target::RatioAtLeast(0.8)).verdict(), Verdict::Pass);
        assert_eq!(row(Measure::rps(700.0), Measure::rps(1000.0), Target::RatioAtLeast(0.8)).verdict(), Verdict::Miss);
        let us = |n| Measure::latency(Duration::from_micros(n));
        let plus_50 = Target::AddedAtMost(Duration::from_micros(50));
        assert_eq!(row(us(340), us(300), plus_50.clone()).verdict(), Verdict::Pass);
        assert_eq!(row(us(360), us(300), plus_50).verdict(), Verdict::Miss);
        let hook = Target::AtMostAndRatio { max: Duration::from_micros(30), ratio: 20.0 };
        assert_eq!(row(us(25), us(2), hook.clone()).verdict(), Verdict::Pass);
        assert_eq!(row(us(25), us(1), hook).verdict(), Verdict::Miss, "25× native");
        assert_eq!(row(us(120), us(100), Target::RatioAtMost(1.3)).verdict(), Verdict::Pass);
        let rss = Target::AtMost(Measure::mib(1024.0));
        assert_eq!(row(Measure::mib(1100.0), Measure::mib(60.0), rss).verdict(), Verdict::Miss);
        assert_eq!(row(us(150_000), us(400), Target::Reported).verdict(), Verdict::Reported, "never judged");
    }

    #[test]
    fn a_skipped_row_says_why_and_a_nan_fails_the_report() {
        let skipped = Row::skipped("pg", "pg", Target::RatioAtLeast(0.8), "no --postgres");
        assert_eq!(skipped.verdict().to_string(), "skipped: no --postgres");
        let plan = Plan::new(true);
        assert!(Report::new(&plan, vec![skipped.clone()], Duration::ZERO).check_complete().is_ok());
        let nan = row(Measure::rps(f64::NAN), Measure::rps(1.0), Target::RatioAtLeast(0.8));
        let report = Report::new(&plan, vec![skipped, nan], Duration::ZERO);
        assert!(report.check_complete().unwrap_err().to_string().contains("`r`"));
        assert_eq!(report.to_json()["rows"][0]["verdict"], "skipped");
    }
}
