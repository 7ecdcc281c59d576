//! `ghops plan` (not available in this build yet: issue #4).

use clap::Args;
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure};

/// Arguments of `ghops plan` (not available in this build yet: issue #4).
#[derive(Args, Debug)]
pub struct PlanArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

/// Runs `ghops plan`.
pub async fn run(_args: PlanArgs, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    super::unavailable("plan", 4)
}
