//! The one table of exit codes (documented in the README).
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | a check failed (budget exceeded, bit mismatch, some inputs could not be parsed) |
//! | 2 | bad input: a malformed file, a wrong argument or configuration |
//! | 3 | an external tool is missing, failed or timed out |
//! | 4 | I/O error |
//! | 130 | interrupted (Ctrl-C): the run stopped; its Slurm jobs were cancelled or kept as asked |
use crate::error::Error;
use std::process::ExitCode;

pub const CHECK_FAILED: u8 = 1;
pub const BAD_INPUT: u8 = 2;
pub const TOOL_FAILED: u8 = 3;
pub const IO_FAILED: u8 = 4;
/// 128 + SIGINT, the shell's convention for a program stopped by Ctrl-C.
pub const INTERRUPTED: u8 = 130;

pub fn exit_code_for(err: &anyhow::Error) -> ExitCode {
    let code = match err.downcast_ref::<Error>() {
        Some(Error::Input { .. }) | Some(Error::Config(_)) => BAD_INPUT,
        Some(Error::Tool(_)) => TOOL_FAILED,
        Some(Error::Io { .. }) => IO_FAILED,
        Some(Error::Mismatch(_)) => CHECK_FAILED,
        Some(Error::Interrupted(_)) => INTERRUPTED,
        None => BAD_INPUT,
    };
    ExitCode::from(code)
}
