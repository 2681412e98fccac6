//! The `sightline` command. Parses arguments ([`cli::Cli`]), opens the store
//! the operator named, and hands off to one module per subcommand. This is
//! the only place errors become exit codes and `anyhow` is used.

mod cli;
mod cmd;
mod incidents;
mod keyframes;
mod metadata;
mod output;
mod similar;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    logs();
    match cmd::run(args) {
        Ok(code) => code,
        // The reader went away (`sightline ls | head`): not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Structured logs on stderr: `SIGHTLINE_LOG` filters (default `error`;
/// `info` logs every item of a job), `SIGHTLINE_LOG_FORMAT=json` writes one
/// JSON object per event.
fn logs() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("SIGHTLINE_LOG").unwrap_or_else(|_| EnvFilter::new("error"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("SIGHTLINE_LOG_FORMAT").as_deref() == Ok("json") {
        fmt.json().init();
    } else {
        fmt.init();
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}
