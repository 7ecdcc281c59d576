//! Every table of `ghops.toml` checked the same way by every command that loads the file:
//! an unknown key (or a wrong type) in any ghops table is an error with the file, line and a
//! did-you-mean (gh-core's section loader), whichever command reads it. Without this, a
//! typo in `[env]` was only caught by the commands that act on `[env]`.

use gh_core::config::ConfigFile;

use crate::ctx::Failure;

/// Decodes each ghops table present in `file` with the type its workflow reads it into
/// (`gh_core::config::Section`, the one section-loading pattern) (keys and types only: the workflow's own checks run where the table is used).
pub fn check_tables(file: &ConfigFile) -> Result<(), Failure> {
    file.decode::<deploy_plan::PlanConfig>()?;
    file.decode::<pr_bridge::Options>()?;
    release_flow::config::DrafterConfig::from_ghops_toml(file)?;
    file.decode::<release_flow::env::EnvConfig>()?;
    file.decode::<deploy_agent::AgentSection>()?;
    file.decode::<runner_orch::RunnersConfig>()?;
    file.decode::<ghops_serve::Routes>()?;
    Ok(())
}
