//! The load generator: N concurrent tokio tasks, each looping one operation and recording
//! every call's latency in a histogram; the first failed call stops the run with its error,
//! since a figure made of refused requests would measure the refusal.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hdrhistogram::Histogram;

/// One call of an operation whose future is boxed: for closures whose futures cannot be named.
pub type BoxedOp = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// Latencies up to a minute, in nanoseconds, to three significant digits.
const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct Sample {
    latencies: Histogram<u64>,
    /// Wall-clock time the calls ran for, summed over merged runs.
    elapsed: Duration,
}

impl Default for Sample {
    fn default() -> Self {
        Self { latencies: new_histogram(), elapsed: Duration::ZERO }
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
    }

    /// Calls completed.
    pub fn count(&self) -> u64 {
        self.latencies.len()
    }

    /// Wall-clock time the calls ran for; zero for samples recorded one by one.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
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
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            while Instant::now() < deadline {
                let call = Instant::now();
                op().await?;
                sample.record(call.elapsed());
            }
            anyhow::Ok(sample)
        }));
    }
    gather(tasks, started).await
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
    let started = Instant::now();
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
    gather(tasks, started).await
}

/// Merges the tasks' samples; the whole run took from `started` until the last finished.
async fn gather(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Sample>>>,
    started: Instant,
) -> anyhow::Result<Sample> {
    let mut total = Sample::default();
    for task in tasks {
        total.merge(&task.await.context("a load task panicked")??);
    }
    total.elapsed = started.elapsed();
    Ok(total)
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

    #[tokio::test]
    async fn a_failed_call_fails_the_run_with_its_error() {
        let failed = for_duration(2, Duration::from_secs(5), || async { anyhow::bail!("the upstream said 503") }).await;
        assert!(failed.unwrap_err().to_string().contains("503"));
    }
}
