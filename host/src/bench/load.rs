//! The load generator: N concurrent tokio tasks, each looping one operation and recording
//! every call's latency in a histogram; the first failed call stops the run with its error,
//! since a figure made of refused requests would measure the refusal.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;

use super::marker;

/// One call of an operation whose future is boxed: for closures whose futures cannot be named.
pub type BoxedOp = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// Latencies up to a minute, in nanoseconds, to three significant digits.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// The unit of `/proc`'s CPU times: Linux fixes it at 100 per second for every architecture
/// it runs on (`USER_HZ`, whatever the kernel's own tick rate).
const USER_HZ: u64 = 100;

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct Sample {
    latencies: Histogram<u64>,
    /// Wall-clock time the calls ran for, summed over merged runs.
    elapsed: Duration,
    /// CPU time the whole bench process spent meanwhile, summed over merged runs; zero where
    /// it cannot be read.
    cpu: Duration,
    /// The marked segments this sample is made of, in order.
    segments: Vec<Segment>,
}

/// One timed run between two [marks](super::marker::mark) ([`for_duration_marked`]): under
/// callgrind, profile `<out>.<profile>` holds the work of its `calls` calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Segment {
    /// The number of the mark that ended it.
    pub profile: u64,
    /// Calls completed in it.
    pub calls: u64,
}

impl Default for Sample {
    fn default() -> Self {
        Self { latencies: new_histogram(), elapsed: Duration::ZERO, cpu: Duration::ZERO, segments: Vec::new() }
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid histogram bounds")
}

impl Sample {
    /// Records one call's latency.
    pub fn record(&mut self, latency: Duration) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).clamp(1, MAX_LATENCY_NS);
        self.latencies.record(ns).expect("clamped into the histogram's range");
    }

    /// Adds `other`'s calls and time: the interleaved segments of one side make one sample.
    pub fn merge(&mut self, other: &Sample) {
        self.latencies.add(&other.latencies).expect("histograms of the same bounds");
        self.elapsed += other.elapsed;
        self.cpu += other.cpu;
        self.segments.extend_from_slice(&other.segments);
    }

    /// The marked segments it is made of.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Calls completed.
    pub fn count(&self) -> u64 {
        self.latencies.len()
    }

    /// Wall-clock time the calls ran for; zero for samples recorded one by one.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// CPU time per call of the whole bench process (every thread: the load generator, the
    /// upstream, the server under test), or `None` where it could not be read. On a machine
    /// the load keeps busy, the ratio of two sides' throughputs is the inverse of theirs, and
    /// their difference is what one side's server costs per call more than the other's.
    pub fn cpu_per_call(&self) -> Option<Duration> {
        let calls = u32::try_from(self.count()).ok().filter(|&n| n > 0)?;
        (!self.cpu.is_zero()).then(|| self.cpu / calls)
    }

    /// Calls per second of wall-clock time.
    pub fn rps(&self) -> f64 {
        self.count() as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The latency at `quantile` (0.5 for the median).
    pub fn quantile(&self, quantile: f64) -> Duration {
        Duration::from_nanos(self.latencies.value_at_quantile(quantile))
    }

    /// The median latency.
    pub fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 99th percentile latency.
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }
}

/// Runs `op` in `concurrency` tasks for `duration`, back to back, timing each call.
pub async fn for_duration<F, Fut>(concurrency: usize, duration: Duration, op: F) -> anyhow::Result<Sample>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    run_for(concurrency, duration, op, false).await
}

/// [`for_duration`] between two [marks](super::marker::mark): the first just before the
/// first call, the second just after the last. The histograms' set-up and merge fall outside
/// them, so a callgrind profile between the two holds the calls' work and little else.
pub async fn for_duration_marked<F, Fut>(concurrency: usize, duration: Duration, op: F) -> anyhow::Result<Sample>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    run_for(concurrency, duration, op, true).await
}

async fn run_for<F, Fut>(concurrency: usize, duration: Duration, op: F, marked: bool) -> anyhow::Result<Sample>
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    // Each histogram is a few hundred KiB of zeroes: made before the clock (and the mark).
    let samples: Vec<Sample> = (0..concurrency).map(|_| Sample::default()).collect();
    if marked {
        marker::mark();
    }
    let (started, cpu) = (Instant::now(), process_cpu());
    let deadline = started + duration;
    let tasks = samples
        .into_iter()
        .map(|mut sample| {
            let op = op.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let call = Instant::now();
                    op().await?;
                    sample.record(call.elapsed());
                }
                anyhow::Ok(sample)
            })
        })
        .collect();
    let samples = join(tasks).await?;
    let (elapsed, cpu) = (started.elapsed(), cpu_since(cpu));
    let end = marked.then(marker::mark);
    let mut total = merged(samples, elapsed, cpu);
    if let Some(profile) = end {
        total.segments = vec![Segment { profile, calls: total.count() }];
    }
    Ok(total)
}

/// Runs `op` once per item, `concurrency` at a time, timing each call: for work that needs
/// a prepared input per call (an authorization code), prepared before the clock starts.
pub async fn for_each<T, F, Fut>(items: Vec<T>, concurrency: usize, op: F) -> anyhow::Result<Sample>
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let queue = Arc::new(Mutex::new(items.into_iter()));
    let (started, cpu) = (Instant::now(), process_cpu());
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (op, queue) = (op.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            loop {
                let next = queue.lock().expect("queue lock").next();
                let Some(item) = next else { break };
                let call = Instant::now();
                op(item).await?;
                sample.record(call.elapsed());
            }
            anyhow::Ok(sample)
        }));
    }
    let samples = join(tasks).await?;
    Ok(merged(samples, started.elapsed(), cpu_since(cpu)))
}

/// Waits for every load task; the first failed call is the run's error.
async fn join(tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Sample>>>) -> anyhow::Result<Vec<Sample>> {
    let mut samples = Vec::with_capacity(tasks.len());
    for task in tasks {
        samples.push(task.await.context("a load task panicked")??);
    }
    Ok(samples)
}

/// The tasks' samples as one, for a run of `elapsed` that used `cpu`.
fn merged(samples: Vec<Sample>, elapsed: Duration, cpu: Duration) -> Sample {
    let mut total = Sample::default();
    for sample in &samples {
        total.merge(sample);
    }
    total.elapsed = elapsed;
    total.cpu = cpu;
    total
}

/// The CPU time used since the process had used `before`; zero where it cannot be read.
fn cpu_since(before: Option<Duration>) -> Duration {
    before.zip(process_cpu()).map_or(Duration::ZERO, |(before, after)| after.saturating_sub(before))
}

/// The CPU time this process has used so far, every thread's user and system time, from
/// `/proc/self/stat`; `None` off Linux.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) may hold spaces and parentheses, so count from its end:
    // `utime` and `stime` are fields 14 and 15, the 12th and 13th after it.
    let mut after_name = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let (user, system) = (after_name.next()?.parse::<u64>().ok()?, after_name.next()?.parse::<u64>().ok()?);
    Some(Duration::from_millis((user + system) * 1000 / USER_HZ))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn every_item_runs_once_and_is_counted() {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        let sample = for_each((1..=10).collect(), 3, move |n: usize| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(n, Ordering::Relaxed);
                Ok(())
            }
        })
        .await
        .unwrap();
        assert_eq!(sample.count(), 10);
        assert_eq!(seen.load(Ordering::Relaxed), 55);
    }

    #[test]
    fn cpu_time_is_read_and_grows_with_work() {
        let before = process_cpu().expect("/proc/self/stat on Linux");
        // Spin until the reading moves two of `/proc`'s 10 ms steps; the wall-clock cap only
        // keeps a reading that never moves from hanging the test.
        let (spin, mut x) = (Instant::now(), 0u64);
        let mut after = before;
        while after < before + Duration::from_millis(20) && spin.elapsed() < Duration::from_secs(30) {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            after = process_cpu().unwrap();
        }
        assert!(after >= before + Duration::from_millis(20), "{before:?} -> {after:?} in {:?}", spin.elapsed());
    }

    #[test]
    fn cpu_per_call_divides_the_merged_time_by_the_calls() {
        let mut sample = Sample { cpu: Duration::from_millis(3), ..Sample::default() };
        assert_eq!(sample.cpu_per_call(), None, "no calls");
        for _ in 0..3 {
            sample.record(Duration::from_micros(10));
        }
        sample.merge(&Sample { cpu: Duration::from_millis(3), ..Sample::default() });
        assert_eq!(sample.cpu_per_call(), Some(Duration::from_millis(2)));
        assert_eq!(Sample::default().cpu_per_call(), None, "unreadable CPU time gives none");
    }

    #[tokio::test]
    async fn a_failed_call_fails_the_run_with_its_error() {
        let failed = for_duration(2, Duration::from_secs(5), || async { anyhow::bail!("the upstream said 503") }).await;
        assert!(failed.unwrap_err().to_string().contains("503"));
    }
}
