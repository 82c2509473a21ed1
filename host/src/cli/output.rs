//! Standard output for the commands, and what happens when its reader goes away.
//!
//! `keyway plugin new acme | head -1` closes the pipe after one line. Rust ignores `SIGPIPE`, so the next write
//! fails with `BrokenPipe` instead of ending the process, and that error used to reach the user as
//! `error: Broken pipe`. The command's work is done (or pointless: nobody reads the rest), so the process
//! should end quietly, as a C tool killed by `SIGPIPE` does.
//!
//! `SIGPIPE` itself stays ignored: `keyway serve` and the clients write to sockets, where a closed peer must be an
//! error to handle, never a signal that kills the server. Only writes to stdout, through [`Stdout`], are marked,
//! so a broken pipe anywhere else (a socket, a child's stdin) is still reported.

use std::io::{self, Write};

/// The exit status when stdout was closed early: 128 + `SIGPIPE` (13), what the shell reports for `seq`, `grep`
/// or `cat` in the same place. A script under `set -o pipefail` sees the same status from Keyway as from any
/// other producer whose reader stopped early; without `pipefail` the pipeline's status is `head`'s, 0.
pub const CLOSED_STDOUT_STATUS: u8 = 141;

/// The process's stdout, whose writes fail with a marked error once the reader has gone away.
#[derive(Debug)]
pub struct Stdout(io::Stdout);

impl Stdout {
    /// The process's stdout.
    pub fn new() -> Self {
        Self(io::stdout())
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(mark)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(mark)
    }
}

/// The error a write to a closed stdout becomes: still `BrokenPipe`, with this inside to tell it apart.
#[derive(Debug, thiserror::Error)]
#[error("standard output was closed (the reader of the pipe went away)")]
pub struct ClosedStdout;

fn mark(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        io::Error::new(io::ErrorKind::BrokenPipe, ClosedStdout)
    } else {
        error
    }
}

/// Whether `error` is, somewhere in its chain, a write to a closed stdout through [`Stdout`].
pub fn is_closed_stdout(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<ClosedStdout>()
            || cause
                .downcast_ref::<io::Error>()
                .and_then(|e| e.get_ref())
                .is_some_and(|inner| inner.is::<ClosedStdout>())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn only_a_broken_pipe_on_stdout_counts_as_a_closed_stdout() {
        let closed = anyhow::Error::from(mark(io::Error::from(io::ErrorKind::BrokenPipe))).context("writing the list");
        assert!(is_closed_stdout(&closed));
        let other = anyhow::Error::from(mark(io::Error::from(io::ErrorKind::PermissionDenied)));
        assert!(!is_closed_stdout(&other));
        // A socket's broken pipe is a failure to report, not a reader that went away.
        let socket: anyhow::Result<()> = Err(io::Error::from(io::ErrorKind::BrokenPipe)).context("sending");
        assert!(!is_closed_stdout(&socket.unwrap_err()));
    }
}
