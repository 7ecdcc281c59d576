//! `ghops env`, `ghops gate`, `ghops init` (not available in this build yet: issue #6).

use clap::{Args, Subcommand};
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure};

/// `ghops env` (not available in this build yet: issue #6).
#[derive(Subcommand, Debug)]
pub enum EnvCmd {
    /// Not available in this build yet (issue #6).
    #[command(external_subcommand)]
    Any(#[allow(dead_code)] Vec<String>),
}

/// `ghops gate` (not available in this build yet: issue #6).
#[derive(Subcommand, Debug)]
pub enum GateCmd {
    /// Not available in this build yet (issue #6).
    #[command(external_subcommand)]
    Any(#[allow(dead_code)] Vec<String>),
}

/// Arguments of `ghops init` (not available in this build yet: issue #6).
#[derive(Args, Debug)]
pub struct InitArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

/// Runs `ghops env`.
pub async fn run_env(_cmd: EnvCmd, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    super::unavailable("env", 6)
}

/// Runs `ghops gate`.
pub async fn run_gate(_cmd: GateCmd, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    super::unavailable("gate", 6)
}

/// Runs `ghops init`.
pub async fn run_init(_args: InitArgs, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    super::unavailable("init", 6)
}
