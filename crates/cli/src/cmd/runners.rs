//! `ghops runners` (not available in this build yet: issue #8).

use clap::Subcommand;
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure};

/// Not available in this build yet.
#[derive(Subcommand, Debug)]
pub enum RunnersCmd {
    /// Not available in this build yet (issue #8).
    #[command(external_subcommand)]
    Any(#[allow(dead_code)] Vec<String>),
}

/// Runs `ghops runners`.
pub async fn run(_cmd: RunnersCmd, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    super::unavailable("runners", 8)
}
