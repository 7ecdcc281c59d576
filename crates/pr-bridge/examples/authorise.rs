//! Would `/test-this-pr` from LOGIN be honoured on OWNER/REPO? The authorisation check
//! pr-bridge runs before anything else: its default options' policy (write permission or
//! more, no bots, deny list first), failing closed on an API error.
//!
//! ```text
//! GH_TOKEN=… cargo run -p ghops-pr-bridge --example authorise -- octo-org/hello octocat
//! ```

use gh_core::RepoRef;
use gh_core::auth::CredentialInputs;
use gh_core::client::{ClientConfig, GitHub};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(repo), Some(login)) = (args.next(), args.next()) else {
        return Err("usage: authorise OWNER/REPO LOGIN".into());
    };
    let repo: RepoRef = repo.parse()?;
    let gh = GitHub::connect(ClientConfig::new(CredentialInputs::from_env().resolve()?)).await?;
    let policy = pr_bridge::Options::default().policy();
    let decision = policy.authorize(&gh, &repo, &login, None).await;
    println!(
        "{login} on {repo}: allowed={} ({})",
        decision.allowed, decision.reason
    );
    Ok(())
}
