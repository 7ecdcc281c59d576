//! `ghops release` (not available in this build yet: issue #5).

use clap::Subcommand;
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure};

/// Not available in this build yet.
#[derive(Subcommand, Debug)]
pub enum ReleaseCmd {
    /// Not available in this build yet (issue #5).
    #[command(external_subcommand)]
    Any(#[allow(dead_code)] Vec<String>),
}

/// Runs `ghops release`.
pub async fn run(_cmd: ReleaseCmd, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    super::unavailable("release", 5)
}
