//! deploy-agent's webhook route, for a server such as `ghops serve`: a `deployment` delivery
//! wakes the target it names at once instead of at its next poll. Polling stays the truth:
//! nothing in the event is trusted beyond "look now".

use std::path::Path;

use gh_core::client::Installations;
use gh_core::events::Event;
use gh_core::webhook::{Handled, RouteSpec};

use crate::{AgentConfig, AgentError, AgentHandle, AgentSection, Flags};

/// `deployment` → wake the deploy-agent target it names (the agent's own client reads the
/// deployments; the delivery's token needs nothing more).
pub const DEPLOYMENT: RouteSpec = RouteSpec {
    event: "deployment",
    permissions: &[("metadata", "read")],
};

/// Starts the agent a webhook server runs beside its routes: `section` resolved as `ghops
/// agent run` resolves it with no flags (the same [`AgentConfig::resolve`]: defaults, absolute
/// paths against `cwd`, no target twice), each target acting with a client from `installations`.
/// On SIGTERM or SIGINT running hooks get TERM, then KILL after the grace period (the server
/// drains its queue meanwhile). `None` when no target is configured.
pub async fn start_for_webhooks(
    section: &AgentSection,
    cwd: &Path,
    installations: &Installations,
) -> Result<Option<AgentHandle>, AgentError> {
    let (stop, cancel) = tokio::sync::watch::channel(false);
    let cfg = AgentConfig::resolve(section, &Flags::default(), cwd, cancel)?;
    if cfg.targets.is_empty() {
        return Ok(None);
    }
    crate::service::stop_on_signal(stop, || {});
    Ok(Some(cfg.start(installations).await?.detach()))
}

/// Handles a `deployment` delivery: wakes the target of its repository and environment.
pub fn deployment(agent: &AgentHandle, event: &Event) -> Handled {
    agent.on_event(event);
    Handled::Done("woke the agent".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gh_core::auth::{Credentials, SecretString, TokenSource};
    use gh_core::client::ClientConfig;

    /// No `[agent]` targets: no agent (and no signal handler, no client) for the server.
    #[tokio::test]
    async fn no_target_starts_no_agent() {
        let d = tempfile::tempdir().unwrap();
        let base = ClientConfig::new(Credentials::Token {
            token: SecretString::from("t".to_owned()),
            source: TokenSource::Flag,
        });
        let agent = start_for_webhooks(
            &AgentSection::default(),
            d.path(),
            &Installations::new(base),
        )
        .await
        .unwrap();
        assert!(agent.is_none());
    }
}
