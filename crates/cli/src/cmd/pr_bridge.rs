//! `ghops pr-bridge` (not available in this build yet: issue #3).

use clap::Subcommand;
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure};

/// Not available in this build yet.
#[derive(Subcommand, Debug)]
pub enum PrBridgeCmd {
    /// Not available in this build yet (issue #3).
    #[command(external_subcommand)]
    Any(#[allow(dead_code)] Vec<String>),
}

/// Runs `ghops pr-bridge`.
pub async fn run(_cmd: PrBridgeCmd, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    super::unavailable("pr-bridge", 3)
}
