//! Errors of the planner, each naming the file, field or line at fault.

use std::path::PathBuf;

use gh_core::{ExitCode, ExitStatus};

/// What can go wrong while planning.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A YAML file could not be parsed.
    #[error("{file}:{line}:{column}: {message}")]
    Yaml {
        /// The file, relative to the config root.
        file: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// The parser's message.
        message: String,
    },
    /// A config file parsed but is wrong (name/dir mismatch, duplicate hub, unknown chart).
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// An input (changed files, labels, jobs, artifact) is malformed.
    #[error("invalid {source_name}: {message}")]
    Input {
        /// The flag or file.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {message}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// An argument is missing, unreadable or malformed, or the arguments given cannot be
    /// acted on together; the message names the flag (`--labels: not a JSON array …`).
    #[error("{0}")]
    Args(String),
    /// A git operation failed (`--base/--head`).
    #[error("git: {0}")]
    Git(String),
    /// Refused (untrusted artifact failed a check).
    #[error("refused: {0}")]
    Refused(String),
    /// A GitHub API error.
    #[error(transparent)]
    GitHub(#[from] gh_core::Error),
}

impl PlanError {
    /// An input error.
    pub fn input(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        PlanError::Input {
            source_name: source_name.into(),
            message: message.into(),
        }
    }
}

impl ExitStatus for PlanError {
    fn exit_code(&self) -> ExitCode {
        match self {
            PlanError::GitHub(e) => e.exit_code(),
            PlanError::Refused(_) => ExitCode::Refused,
            _ => ExitCode::Usage,
        }
    }

    /// The file (and line, when known) the error is about: a cluster or chart file that does
    /// not parse or is invalid, or the `ghops.toml` / I/O error gh-core names.
    fn location(&self) -> Option<(String, Option<u64>)> {
        match self {
            PlanError::Yaml { file, line, .. } => {
                Some((file.clone(), (*line > 0).then_some(*line)))
            }
            PlanError::Invalid { file, .. } => Some((file.clone(), None)),
            PlanError::GitHub(e) => e.location(),
            _ => None,
        }
    }
}
