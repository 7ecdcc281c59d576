//! `ghops serve` (not available in this build yet: issue #9).

use clap::Args;
use gh_core::ExitCode;

use crate::ctx::{Ctx, Failure};

/// Arguments of `ghops serve` (not available in this build yet: issue #9).
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

/// Runs `ghops serve`.
pub async fn run(_args: ServeArgs, _ctx: &Ctx) -> Result<ExitCode, Failure> {
    super::unavailable("serve", 9)
}
