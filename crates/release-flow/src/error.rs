//! release-flow errors.

use gh_core::{ExitCode, ExitStatus};

/// What can stop a release command.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The configuration or an input is invalid (names the file or flag).
    #[error("{0}")]
    Config(String),
    /// Refused by a safety check (already published, branch elsewhere, not authorised).
    #[error("refused: {0}")]
    Refused(String),
    /// A GitHub API error.
    #[error(transparent)]
    GitHub(#[from] gh_core::Error),
}

impl ExitStatus for ReleaseError {
    fn exit_code(&self) -> ExitCode {
        match self {
            ReleaseError::Config(_) => ExitCode::Usage,
            ReleaseError::Refused(_) => ExitCode::Refused,
            ReleaseError::GitHub(e) => e.exit_code(),
        }
    }
}
