//! deploy-agent errors.

use gh_core::{ExitCode, ExitStatus};

/// What can stop the agent.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// Bad configuration or input.
    #[error("{0}")]
    Config(String),
    /// A local file (journal, log, payload) could not be written or read.
    #[error("agent state: {0}")]
    Io(#[from] std::io::Error),
    /// JSON encoding.
    #[error("payload: {0}")]
    Json(#[from] serde_json::Error),
    /// A GitHub API error.
    #[error(transparent)]
    GitHub(#[from] gh_core::Error),
    /// A followed deployment failed (`create --wait`).
    #[error("{0}")]
    Failed(String),
    /// A bounded wait ran out.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl ExitStatus for AgentError {
    fn exit_code(&self) -> ExitCode {
        match self {
            AgentError::Config(_) | AgentError::Json(_) => ExitCode::Usage,
            AgentError::Io(_) | AgentError::Failed(_) => ExitCode::Failed,
            AgentError::GitHub(e) => e.exit_code(),
            AgentError::Timeout(_) => ExitCode::Timeout,
        }
    }
}
