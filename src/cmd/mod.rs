//! One module per subcommand.

pub mod check;
pub mod cluster;
pub mod report;
pub mod serve;

/// Exit codes shared by every subcommand.
pub mod exit {
    pub const VALID: u8 = 0;
    pub const INVALID: u8 = 1;
    pub const UNKNOWN: u8 = 2;
    /// Usage errors, unreadable input, or the harness itself failed.
    pub const ERROR: u8 = 3;
}
