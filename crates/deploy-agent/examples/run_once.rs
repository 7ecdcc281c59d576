//! One poll of the deploy agent for one target: claim the newest waiting deployment of
//! OWNER/REPO's ENVIRONMENT, run the hooks in HOOKS_DIR, report the result, with a journal in
//! STATE_DIR so a crash never repeats a deploy.
//!
//! ```text
//! GH_TOKEN=… cargo run -p ghops-deploy-agent --example run_once -- octo-org/app production ./hooks ./state
//! ```

use std::time::Duration;

use deploy_agent::{AgentOptions, Journal, Policy, Target, TargetState, run_once};
use gh_core::auth::CredentialInputs;
use gh_core::client::{ClientConfig, GitHub};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [repo, environment, hooks, state] = &a[..] else {
        return Err("usage: run_once OWNER/REPO ENVIRONMENT HOOKS_DIR STATE_DIR".into());
    };
    let gh = GitHub::connect(ClientConfig::new(CredentialInputs::from_env().resolve()?)).await?;
    let target = Target {
        repo: repo.parse()?,
        environment: environment.clone(),
        hooks_dir: hooks.into(),
        policy: Policy::Latest,
        hook_timeout: None,
    };
    let (_stop, cancel) = tokio::sync::watch::channel(false);
    let opts = AgentOptions {
        agent_id: "example".into(),
        hook_timeout: Duration::from_secs(1800),
        grace: Duration::from_secs(10),
        log_dir: std::path::Path::new(state).join("logs"),
        log_cap: 10 << 20,
        log_url_template: None,
        legacy_env: false,
        legacy_cwd: None,
        redeploy: None,
        cancel,
        run_as: None,
        heartbeat_file: None,
    };
    let journal = Journal::open(state.as_ref())?;
    let report = run_once(&gh, &target, &opts, &journal, &mut TargetState::default()).await?;
    println!("{report:?}");
    Ok(())
}
