//! `ghops agent` (not available in this build yet: issue #7).

use clap::Subcommand;
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure};

/// Not available in this build yet.
#[derive(Subcommand, Debug)]
pub enum AgentCmd {
    /// Not available in this build yet (issue #7).
    #[command(external_subcommand)]
    Any(#[allow(dead_code)] Vec<String>),
}

/// Runs `ghops agent`.
pub async fn run(_cmd: AgentCmd, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    super::unavailable("agent", 7)
}
