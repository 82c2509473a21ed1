//! The `keyway` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use keyway::cli::output::{CLOSED_STDOUT_STATUS, Stdout, is_closed_stdout};

// mimalloc's per-thread heaps: glibc's malloc spent about 15% of the `/request` hot path's CPU
// in its arenas' locks and in fastbin consolidation (issue #11's profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keyway: a WebAssembly plugin host for custom OAuth2 integrations.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the integration service: the REST API, the OAuth redirect URI and the store.
    Serve(keyway::config::ServeArgs),
    /// Run a full connection against a built-in strict mock provider: authorize, token
    /// exchange, one API call, refresh and revoke, printing each request (redacted). With
    /// `--console`, keep serving afterwards so the admin console can be opened.
    Demo(keyway::demo::DemoArgs),
    /// Run issue #11's benchmarks, each against a baseline measured in the same run, print a
    /// table of figures, ratios and targets, and write it as JSON. Build with `--release` first.
    Bench(keyway::bench::BenchArgs),
    #[command(flatten)]
    Client(keyway::cli::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The log format is a `serve` setting, so the settings are resolved before anything logs; reading
    // them logs nothing, and their errors go to stderr below.
    let settings = match &cli.command {
        Command::Serve(args) => Some(keyway::config::Settings::load(args)),
        _ => None,
    };
    let log_format = match &settings {
        Some(Ok(settings)) => settings.log_format,
        _ => keyway::logging::LogFormat::Text,
    };
    keyway::logging::init(log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(_) => match settings.expect("resolved above for `serve`") {
                Ok(settings) => keyway::serve::run(settings).await,
                Err(e) => Err(e.into()),
            },
            Command::Demo(args) => keyway::demo::run(&mut Stdout::new(), args).await,
            Command::Bench(args) => keyway::bench::run(args, &mut Stdout::new()).await,
            Command::Client(command) => keyway::cli::run(command, &mut Stdout::new()).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `keyway … | head`: the reader has what it wanted; say nothing (see `keyway::cli::output`).
        Err(e) if is_closed_stdout(&e) => ExitCode::from(CLOSED_STDOUT_STATUS),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
