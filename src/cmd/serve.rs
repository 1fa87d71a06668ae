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
}

pub fn run(args: Args) -> ExitCode {
    if !args.results.is_dir() {
        eprintln!(
            "error: {}: no such results directory (pass --results DIR)",
            args.results.display()
        );
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
    results::serve::serve_on(listener, args.results);
    ExitCode::from(exit::VALID)
}
