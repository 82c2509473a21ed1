//! Waits that end when they say they will. tokio's timer counts whole milliseconds and rounds
//! each deadline up to the next tick, so `tokio::time::sleep(2 ms)` answers after anything from
//! 2 to 3 ms, depending on where in the millisecond it started. A benchmark whose upstream
//! "answers after 2 ms" then measures that rounding as much as the code under test: work done
//! before the wait shifts where the wait falls, and with it the wait's length.
//!
//! [`sleep`] hands the deadline to one timer thread, which wakes on the kernel's high-resolution
//! timers (tens of microseconds of slack rather than a millisecond) and completes each waiter
//! on time, however many are waiting.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// A deadline and whom to wake at it.
type Wait = (Instant, oneshot::Sender<()>);

fn timer() -> &'static mpsc::Sender<Wait> {
    static TIMER: OnceLock<mpsc::Sender<Wait>> = OnceLock::new();
    TIMER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Wait>();
        std::thread::Builder::new()
            .name("precise-delay".into())
            .spawn(move || run(rx))
            .expect("spawning the delay timer thread");
        tx
    })
}

/// The timer thread: sleeps until the earliest deadline or a new waiter, whichever is first.
fn run(rx: mpsc::Receiver<Wait>) {
    // Keyed by deadline, then arrival, so equal deadlines keep both waiters.
    let mut waiters: BTreeMap<(Instant, u64), oneshot::Sender<()>> = BTreeMap::new();
    let mut arrivals = 0u64;
    loop {
        let now = Instant::now();
        while let Some(entry) = waiters.first_entry().filter(|e| e.key().0 <= now) {
            // A waiter that gave up has dropped its receiver; nothing to do.
            let _ = entry.remove().send(());
        }
        let received = match waiters.keys().next() {
            Some((due, _)) => rx.recv_timeout(due.saturating_duration_since(now)),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match received {
            Ok((due, wake)) => {
                waiters.insert((due, arrivals), wake);
                arrivals += 1;
            }
            Err(RecvTimeoutError::Timeout) => {}
            // No sender is left only when the process is ending.
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Waits `duration`, ending within tens of microseconds of the deadline. Zero returns at once.
pub async fn sleep(duration: Duration) {
    if duration.is_zero() {
        return;
    }
    let due = Instant::now() + duration;
    let (wake, woken) = oneshot::channel();
    if timer().send((due, wake)).is_err() {
        // The timer thread is gone (it never exits while the process runs): fall back to tokio.
        tokio::time::sleep_until(due.into()).await;
        return;
    }
    let _ = woken.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_wake_in_deadline_order_and_never_early() {
        let started = Instant::now();
        let (late, early) = tokio::join!(
            async {
                sleep(Duration::from_millis(30)).await;
                Instant::now()
            },
            async {
                sleep(Duration::from_millis(10)).await;
                Instant::now()
            }
        );
        assert!(early.duration_since(started) >= Duration::from_millis(10));
        assert!(late.duration_since(started) >= Duration::from_millis(30));
        assert!(early < late);
    }
}
