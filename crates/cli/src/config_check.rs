//! Every table of `ghops.toml` checked the same way by every command that loads the file:
//! an unknown key (or a wrong type) in any ghops table is an error with the file, line and a
//! did-you-mean (gh-core's section loader), whichever command reads it. Without this, a
//! typo in `[env]` was only caught by the commands that act on `[env]`.

use gh_core::config::ConfigFile;

use crate::ctx::Failure;

/// Deserializes each ghops table present in `file` with the type its workflow reads it
/// into (keys and types only: the workflow's own checks run where the table is used).
pub fn check_tables(file: &ConfigFile) -> Result<(), Failure> {
    file.section::<deploy_plan::PlanConfig>("plan")?;
    file.section::<pr_bridge::Options>("pr_bridge")?;
    release_flow::config::DrafterConfig::from_ghops_toml(file)?;
    file.section::<release_flow::env::EnvConfig>("env")?;
    file.section::<deploy_agent::AgentSection>("agent")?;
    file.section::<runner_orch::RunnersConfig>("runners")?;
    file.section::<ghops_serve::Routes>("serve")?;
    Ok(())
}
