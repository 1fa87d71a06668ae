//! `shakedown serve [DIR...]`: an index of the stored runs, the campaigns'
//! grids and the files of one or several results directories over HTTP,
//! on 127.0.0.1 unless told otherwise. Several directories (the results
//! of many CI shards, say) are served as one.

use super::exit;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Results directories to serve together (e.g. one per CI shard).
    pub dirs: Vec<PathBuf>,
    /// A results directory (the same as naming it as DIR; ./results when
    /// no directory is named).
    #[arg(long)]
    pub results: Option<PathBuf>,
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

/// The directories to serve: each must exist, none twice.
fn dirs(args: &Args) -> Result<Vec<PathBuf>, String> {
    let mut dirs: Vec<PathBuf> = args.results.iter().chain(&args.dirs).cloned().collect();
    if dirs.is_empty() {
        dirs.push(PathBuf::from("results"));
    }
    let mut seen = Vec::new();
    for d in &dirs {
        let canon = d
            .canonicalize()
            .ok()
            .filter(|c| c.is_dir())
            .ok_or_else(|| {
                format!(
                    "{}: no such results directory (name one: shakedown serve DIR [DIR...])",
                    d.display()
                )
            })?;
        if seen.contains(&canon) {
            return Err(format!("{}: named twice", d.display()));
        }
        seen.push(canon);
    }
    Ok(dirs)
}

pub fn run(args: Args) -> ExitCode {
    let dirs = match dirs(&args) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
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
    let names: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    println!(
        "serving {} on http://{shown}/ (campaigns: http://{shown}/campaigns; Ctrl-C to stop)",
        names.join(", ")
    );
    let limits = results::serve::Limits {
        max_connections: args.max_connections.max(1),
        request_timeout: args.request_timeout,
        ..Default::default()
    };
    match results::serve::serve_dirs(listener, dirs, limits) {
        Ok(()) => ExitCode::from(exit::VALID),
        Err(e) => {
            eprintln!("error: serving on {shown}: {e}");
            ExitCode::from(exit::ERROR)
        }
    }
}
