//! Errors shared by every ghops crate, and the documented process exit codes they map to.

use std::path::PathBuf;

/// The documented `ghops` process exit codes.
///
/// | code | meaning |
/// |------|---------|
/// | 0 | success |
/// | 1 | the operation ran and failed (e.g. a CI run concluded `failure`) |
/// | 2 | usage error or invalid input (bad flag, config, payload) |
/// | 3 | refused by policy (not authorised, PR not mergeable) |
/// | 4 | GitHub or Kubernetes API failure after retries |
/// | 5 | timed out |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ExitCode {
    /// Success.
    Success = 0,
    /// The operation ran and failed.
    Failed = 1,
    /// Usage error or invalid input.
    Usage = 2,
    /// Refused by policy.
    Refused = 3,
    /// An API failed after retries.
    Api = 4,
    /// Timed out.
    Timeout = 5,
}

impl ExitCode {
    /// The numeric process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The error type of gh-core. Workflow crates wrap it in their own `thiserror` enums.
///
/// No variant ever carries a token: request errors carry the method, the path and GitHub's
/// `message`, never headers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No credentials were given.
    #[error(
        "no GitHub credentials: pass --token or set GH_TOKEN / GITHUB_TOKEN, or use a GitHub App (--app-id and --app-key / GHOPS_APP_ID and GHOPS_APP_PRIVATE_KEY)"
    )]
    MissingToken,
    /// A configuration value is invalid; names the source (flag, variable or file) and field.
    #[error("invalid {source_name}: {message}")]
    InvalidInput {
        /// Where the value came from (`--repo`, `GHOPS_APP_ID`, `ghops.toml`, ...).
        source_name: String,
        /// What is wrong with it.
        message: String,
    },
    /// The configuration file is wrong at a known place: a TOML syntax error, an unknown
    /// table or key (with a did-you-mean), a value of the wrong type.
    #[error("{file}{}: {message}", .line.map(|l| format!(":{l}")).unwrap_or_default())]
    Config {
        /// The file, as named (`ghops.toml`, `--config` value).
        file: String,
        /// 1-based line, when known.
        line: Option<u64>,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An event payload is malformed.
    #[error("invalid event payload {origin}: {message}")]
    BadEvent {
        /// The file (or `webhook body`).
        origin: String,
        /// serde's message, which names the missing or mistyped field.
        message: String,
    },
    /// GitHub answered with an error status (after retries where retrying was allowed).
    #[error("GitHub API {method} {path} failed with {status}: {message}{}", hint_suffix(.hint.as_deref()))]
    Api {
        /// HTTP method.
        method: String,
        /// Path and query (never the host, never a token).
        path: String,
        /// HTTP status.
        status: u16,
        /// GitHub's `message`, or the start of the body.
        message: String,
        /// The likely cause, for people (bad credentials, the missing permission, wrong
        /// repository): set by [`crate::client::GitHub::check`] from the status and headers.
        hint: Option<String>,
    },
    /// The request never got an answer (connection refused, DNS, TLS) after retries.
    #[error("GitHub API {method} {path} could not be sent: {message}")]
    Transport {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// GitHub's answer could not be decoded.
    #[error("unexpected response from GitHub API {method} {path}: {message}")]
    Decode {
        /// HTTP method.
        method: String,
        /// Path and query.
        path: String,
        /// serde's message.
        message: String,
    },
    /// Refused by an authorisation policy or a precondition.
    #[error("refused: {0}")]
    Refused(String),
    /// A bounded wait ran out.
    #[error("timed out: {0}")]
    Timeout(String),
}

impl Error {
    /// The exit code the CLI uses for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::MissingToken
            | Error::InvalidInput { .. }
            | Error::Config { .. }
            | Error::Io { .. }
            | Error::BadEvent { .. } => ExitCode::Usage,
            Error::Api { .. } | Error::Transport { .. } | Error::Decode { .. } => ExitCode::Api,
            Error::Refused(_) => ExitCode::Refused,
            Error::Timeout(_) => ExitCode::Timeout,
        }
    }

    /// The HTTP status of an API error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when this is an API error with the given HTTP status.
    pub fn is_status(&self, code: u16) -> bool {
        self.status() == Some(code)
    }

    /// True when a write that failed this way may still have been applied by GitHub (a 5xx
    /// answer or a lost connection): read back before sending it again, never assume either.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status >= 500,
            Error::Transport { .. } => true,
            _ => false,
        }
    }

    /// The file and line this error is about, when it names one (config errors): the CLI
    /// puts them on the `::error` annotation under Actions.
    pub fn location(&self) -> Option<(String, Option<u64>)> {
        match self {
            Error::Config { file, line, .. } => Some((file.clone(), *line)),
            Error::Io { path, .. } => Some((path.display().to_string(), None)),
            _ => None,
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidInput {
            source_name: source_name.into(),
            message: message.into(),
        }
    }
}

/// ` (likely cause: …)` after an API error's message, or nothing.
fn hint_suffix(hint: Option<&str>) -> String {
    hint.map(|h| format!(" ({h})")).unwrap_or_default()
}

/// gh-core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors that know their process exit code. Every workflow crate's error type implements it,
/// so the CLI maps any failure to the documented codes in one place.
pub trait ExitStatus: std::error::Error {
    /// The exit code for this error.
    fn exit_code(&self) -> ExitCode;

    /// The file and 1-based line the error is about, when known (for `::error file=…,line=…`
    /// annotations under Actions).
    fn location(&self) -> Option<(String, Option<u64>)> {
        None
    }
}

impl ExitStatus for Error {
    fn exit_code(&self) -> ExitCode {
        Error::exit_code(self)
    }

    fn location(&self) -> Option<(String, Option<u64>)> {
        Error::location(self)
    }
}
