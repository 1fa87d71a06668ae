//! One module per subcommand.

pub mod campaign;
pub mod check;
pub mod cluster;
pub mod diskfs;
pub mod fault;
pub mod heal;
pub mod merge;
pub mod replay;
pub mod report;
pub mod run;
pub mod serve;

/// `println!` that never panics: when stdout is a closed pipe
/// (`shakedown check ... | head -1`) the output is dropped and the command
/// still finishes with the exit code of its verdict.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Exit codes shared by every subcommand.
pub use runner::exit;
