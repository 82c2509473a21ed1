//! Segment marks, for counting instead of timing.
//!
//! Timed runs on a shared VM differ by ±20%; instruction counts do not. Every timed segment
//! of an interleaved row starts and ends with a call to [`keyway_bench_mark`], a no-op the
//! binary exports under that name. Run the bench under
//! `valgrind --tool=callgrind --dump-before=keyway_bench_mark` and callgrind writes the
//! profile gathered since the previous mark before each call, into `<out>.<n>` for the `n`th
//! call. The JSON names each segment's profile number and call count, and
//! `scripts/callgrind-bench.py` divides one by the other. Outside valgrind a mark costs an
//! atomic add and a call.

use std::sync::atomic::{AtomicU64, Ordering};

/// Marks made so far in this process: callgrind numbers its dumps the same way.
static MARKS: AtomicU64 = AtomicU64::new(0);

/// The symbol callgrind's `--dump-before` names. It must stay an out-of-line function under
/// its own name, or the dumps vanish without an error.
#[inline(never)]
#[unsafe(no_mangle)]
pub extern "C" fn keyway_bench_mark(mark: u64) {
    std::hint::black_box(mark);
}

/// Marks a boundary between segments and returns its number, counted from 1: under callgrind
/// the profile that ends here is `<out>.<number>`.
pub fn mark() -> u64 {
    let number = MARKS.fetch_add(1, Ordering::Relaxed) + 1;
    keyway_bench_mark(number);
    number
}

#[cfg(test)]
mod tests {
    #[test]
    fn marks_count_up_from_one_in_call_order() {
        let (first, second) = (super::mark(), super::mark());
        assert!(first >= 1, "callgrind's first dump is `.1`");
        assert!(second > first);
    }
}
