//! `shakedown serve`: an index of the stored runs and their files over
//! HTTP, on 127.0.0.1 unless told otherwise.

use super::exit;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The results directory.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on; anything but loopback exposes every history
    /// and node log to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Connections served at once; more are answered 503.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
    /// A request (line and headers) must arrive within this (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = super::check::parse_duration)]
    pub request_timeout: std::time::Duration,
}

pub fn run(args: Args) -> ExitCode {
    if !args.results.is_dir() {
        eprintln!(
            "error: {}: no such results directory (pass --results DIR)",
            args.results.display()
        );
        return ExitCode::from(exit::ERROR);
    }
    if args.request_timeout.is_zero() {
        eprintln!("error: --request-timeout must be more than 0");
        return ExitCode::from(exit::ERROR);
    }
    let addr = SocketAddr::new(args.bind, args.port);
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {addr}: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let shown = listener.local_addr().unwrap_or(addr);
    println!(
        "serving {} on http://{shown}/ (Ctrl-C to stop)",
        args.results.display()
    );
    let limits = results::serve::Limits {
        max_connections: args.max_connections.max(1),
        request_timeout: args.request_timeout,
        ..Default::default()
    };
    match results::serve::serve_with(listener, args.results, limits) {
        Ok(()) => ExitCode::from(exit::VALID),
        Err(e) => {
            eprintln!("error: serving on {shown}: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}
