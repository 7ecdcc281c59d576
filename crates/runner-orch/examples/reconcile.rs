//! One reconcile pass of the runner orchestrator: the `[runners]` pools of a `ghops.toml`,
//! the queued jobs GitHub reports, and what it launches or reaps. Pass `dry-run` to have
//! launches and deletes reported instead of made.
//!
//! ```text
//! GH_TOKEN=… cargo run -p ghops-runner-orch --example reconcile -- ghops.toml dry-run
//! ```

use gh_core::auth::CredentialInputs;
use gh_core::client::{ClientConfig, GitHub};
use gh_core::config::ConfigFile;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ghops.toml".into());
    let dry_run = std::env::args().nth(2).as_deref() == Some("dry-run");
    let gh = GitHub::connect(ClientConfig::new(CredentialInputs::from_env().resolve()?)).await?;
    let config = ConfigFile::load(Some(file.as_ref()))?;
    let orch = runner_orch::from_config(&config, dry_run, None).await?;
    let report = orch.reconcile(&runner_orch::Clients::single(&gh)).await?;
    for decision in &report.decisions {
        println!("{decision:?}");
    }
    Ok(())
}
