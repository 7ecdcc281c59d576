//! pr-bridge errors and outcomes' exit codes.

use gh_core::{ExitCode, ExitStatus};

/// What can stop a pr-bridge command.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// Bad input (event payload, arguments, flags).
    #[error("{0}")]
    Input(String),
    /// Refused by policy or a safety check (the user has been told in a comment).
    #[error("refused: {0}")]
    Refused(String),
    /// A check could not be made (an API failed) and ghops failed closed; trying again later
    /// may succeed (the user has been told so in a comment).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bounded wait ran out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The CI run concluded in failure (report).
    #[error("{0}")]
    Failed(String),
    /// A GitHub API error.
    #[error(transparent)]
    GitHub(#[from] gh_core::Error),
}

impl ExitStatus for BridgeError {
    fn exit_code(&self) -> ExitCode {
        match self {
            BridgeError::Input(_) => ExitCode::Usage,
            BridgeError::Refused(_) => ExitCode::Refused,
            BridgeError::Timeout(_) => ExitCode::Timeout,
            BridgeError::Unavailable(_) => ExitCode::Api,
            BridgeError::Failed(_) => ExitCode::Failed,
            BridgeError::GitHub(e) => e.exit_code(),
        }
    }

    /// The file and line of a gh-core error that names one (`ghops.toml`, an event file).
    fn location(&self) -> Option<(String, Option<u64>)> {
        match self {
            BridgeError::GitHub(e) => e.location(),
            _ => None,
        }
    }
}
