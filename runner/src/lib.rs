//! Runs a test: everything `shakedown run`, `run --replay` and `campaign`
//! do for one test, as a library, so that more than the command line can
//! run one.
//!
//! - [`test_file`]: the YAML test file and its checks;
//! - [`run`]: one run: reach the nodes, set up, run the clients beside the
//!   nemesis, heal, tear down, check, write the run directory;
//! - [`replay`]: what a run directory records to run it again, and the plan
//!   of a replay;
//! - [`outputs`]: a workload's checked result as a results.json entry.
//!
//! The binary parses arguments, calls [`run::run_test`] and prints the
//! [`run::Report`].

pub mod online;
pub mod outputs;
pub mod reference;
pub mod replay;
pub mod run;
pub mod test_file;

/// Exit codes shared by every subcommand.
pub mod exit {
    pub const VALID: u8 = 0;
    pub const INVALID: u8 = 1;
    pub const UNKNOWN: u8 = 2;
    /// Usage errors, unreadable input, or the harness itself failed.
    pub const ERROR: u8 = 3;

    /// The exit code of a verdict.
    pub fn of(v: checkers::verdict::Validity) -> u8 {
        use checkers::verdict::Validity;
        match v {
            Validity::Valid => VALID,
            Validity::Invalid => INVALID,
            Validity::Unknown => UNKNOWN,
        }
    }
}
