//! Credentials: a token (the gh CLI's order: `--token`, `GH_TOKEN`, `GITHUB_TOKEN`) or a GitHub
//! App (id and PEM private key) whose installation tokens are minted per repository or org.
//!
//! Secrets live in [`secrecy::SecretString`]: they never appear in `Debug` output.

use std::fmt;
use std::path::Path;

pub use octocrab::secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// Where a token came from; decides the warnings ghops prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// `--token`.
    Flag,
    /// `GH_TOKEN`.
    GhToken,
    /// `GITHUB_TOKEN`.
    GithubToken,
    /// An installation token ghops minted itself from GitHub App credentials (e.g. one narrowed
    /// to the permissions a `ghops serve` handler needs).
    Minted,
}

/// What kind of token this is, read from its prefix (GitHub's documented token formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// `ghp_`: classic personal access token.
    ClassicPat,
    /// `github_pat_`: fine-grained personal access token.
    FineGrainedPat,
    /// `gho_`: OAuth app token.
    OAuth,
    /// `ghu_`: GitHub App user-to-server token.
    AppUser,
    /// `ghs_`: installation token (GitHub App, or the Actions `GITHUB_TOKEN`).
    Installation,
    /// Anything else (GHES legacy tokens, test tokens).
    Unknown,
}

/// For people: `classic personal access token (ghp_)`, the form `ghops auth status` shows.
impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::ClassicPat => "classic personal access token (ghp_)",
            TokenKind::FineGrainedPat => "fine-grained personal access token (github_pat_)",
            TokenKind::OAuth => "OAuth app token (gho_)",
            TokenKind::AppUser => "GitHub App user-to-server token (ghu_)",
            TokenKind::Installation => "installation token (ghs_)",
            TokenKind::Unknown => "unrecognised token format",
        })
    }
}

impl TokenKind {
    /// Classifies a token by its prefix, without keeping it.
    pub fn of(token: &str) -> Self {
        if token.starts_with("ghp_") {
            TokenKind::ClassicPat
        } else if token.starts_with("github_pat_") {
            TokenKind::FineGrainedPat
        } else if token.starts_with("gho_") {
            TokenKind::OAuth
        } else if token.starts_with("ghu_") {
            TokenKind::AppUser
        } else if token.starts_with("ghs_") {
            TokenKind::Installation
        } else {
            TokenKind::Unknown
        }
    }
}

/// How ghops authenticates.
#[derive(Clone)]
pub enum Credentials {
    /// A token used as is.
    Token {
        /// The token.
        token: SecretString,
        /// Where it came from.
        source: TokenSource,
    },
    /// A GitHub App: installation tokens are minted on demand and refreshed before expiry.
    App {
        /// The App id.
        app_id: u64,
        /// The PEM-encoded RSA private key.
        private_key: SecretString,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token { source, .. } => f
                .debug_struct("Token")
                .field("token", &"[REDACTED]")
                .field("source", source)
                .finish(),
            Credentials::App { app_id, .. } => f
                .debug_struct("App")
                .field("app_id", app_id)
                .field("private_key", &"[REDACTED]")
                .finish(),
        }
    }
}

/// The raw inputs credentials are resolved from (flags and environment), kept apart from the
/// process environment so resolution is testable.
#[derive(Default, Clone)]
pub struct CredentialInputs {
    /// `--token`.
    pub token_flag: Option<SecretString>,
    /// `GH_TOKEN`.
    pub gh_token: Option<SecretString>,
    /// `GITHUB_TOKEN`.
    pub github_token: Option<SecretString>,
    /// `--app-id` or `GHOPS_APP_ID`.
    pub app_id: Option<String>,
    /// `--app-key FILE`.
    pub app_key_file: Option<std::path::PathBuf>,
    /// `GHOPS_APP_PRIVATE_KEY` (the PEM itself).
    pub app_key_env: Option<SecretString>,
}

impl fmt::Debug for CredentialInputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialInputs")
            .field("app_id", &self.app_id)
            .field("app_key_file", &self.app_key_file)
            .finish_non_exhaustive()
    }
}

fn non_empty(s: &Option<SecretString>) -> Option<SecretString> {
    s.as_ref()
        .filter(|t| !t.expose_secret().trim().is_empty())
        .map(|t| SecretString::from(t.expose_secret().trim().to_owned()))
}

impl CredentialInputs {
    /// Reads `GH_TOKEN`, `GITHUB_TOKEN`, `GHOPS_APP_ID` and `GHOPS_APP_PRIVATE_KEY` from the
    /// process environment (the secrets through [`crate::hardening::secret_var`], which also
    /// knows those moved out of the environment at start); flags are set by the caller.
    pub fn from_env() -> Self {
        let var = crate::hardening::secret_var;
        Self {
            token_flag: None,
            gh_token: var("GH_TOKEN"),
            github_token: var("GITHUB_TOKEN"),
            app_id: std::env::var("GHOPS_APP_ID").ok().filter(|s| !s.is_empty()),
            app_key_file: None,
            app_key_env: var("GHOPS_APP_PRIVATE_KEY"),
        }
    }

    /// Resolves the credentials: an explicit App id selects the App; otherwise the first token
    /// of `--token`, `GH_TOKEN`, `GITHUB_TOKEN`.
    pub fn resolve(&self) -> Result<Credentials> {
        if let Some(id) = &self.app_id {
            let app_id: u64 = id.trim().parse().map_err(|_| {
                Error::invalid("--app-id / GHOPS_APP_ID", format!("{id:?} is not a number"))
            })?;
            let private_key = if let Some(path) = &self.app_key_file {
                read_key_file(path)?
            } else if let Some(k) = non_empty(&self.app_key_env) {
                k
            } else {
                return Err(Error::invalid(
                    "--app-key / GHOPS_APP_PRIVATE_KEY",
                    "a GitHub App id was given without its private key",
                ));
            };
            if !private_key.expose_secret().contains("-----BEGIN") {
                return Err(Error::invalid(
                    "--app-key / GHOPS_APP_PRIVATE_KEY",
                    "the private key is not PEM (no -----BEGIN line)",
                ));
            }
            return Ok(Credentials::App {
                app_id,
                private_key,
            });
        }
        for (tok, source) in [
            (&self.token_flag, TokenSource::Flag),
            (&self.gh_token, TokenSource::GhToken),
            (&self.github_token, TokenSource::GithubToken),
        ] {
            if let Some(token) = non_empty(tok) {
                return Ok(Credentials::Token { token, source });
            }
        }
        Err(Error::MissingToken)
    }
}

fn read_key_file(path: &Path) -> Result<SecretString> {
    std::fs::read_to_string(path)
        .map(SecretString::from)
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })
}

impl Credentials {
    /// A short, secret-free description: `token (GH_TOKEN, classic PAT)` or `GitHub App 123`.
    pub fn describe(&self) -> String {
        match self {
            Credentials::Token { token, source } => {
                format!(
                    "token from {} ({})",
                    match source {
                        TokenSource::Flag => "--token",
                        TokenSource::GhToken => "GH_TOKEN",
                        TokenSource::GithubToken => "GITHUB_TOKEN",
                        TokenSource::Minted => "a minted installation token",
                    },
                    TokenKind::of(token.expose_secret())
                )
            }
            Credentials::App { app_id, .. } => format!("GitHub App {app_id}"),
        }
    }

    /// True when this is most likely the Actions `GITHUB_TOKEN`: pushes, releases and branches
    /// created with it trigger no further workflow runs.
    pub fn is_actions_github_token(&self) -> bool {
        match self {
            Credentials::Token { token, source } => {
                crate::actions::in_actions()
                    && TokenKind::of(token.expose_secret()) == TokenKind::Installation
                    && (*source == TokenSource::GithubToken
                        || crate::hardening::secret_var("GITHUB_TOKEN")
                            .is_some_and(|t| t.expose_secret() == token.expose_secret()))
            }
            Credentials::App { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<SecretString> {
        Some(SecretString::from(v.to_owned()))
    }

    #[test]
    fn gh_cli_order() {
        let mut i = CredentialInputs {
            gh_token: s("b"),
            github_token: s("c"),
            ..Default::default()
        };
        match i.resolve().unwrap() {
            Credentials::Token { token, source } => {
                assert_eq!(token.expose_secret(), "b");
                assert_eq!(source, TokenSource::GhToken);
            }
            _ => panic!(),
        }
        i.token_flag = s("a");
        assert!(matches!(
            i.resolve().unwrap(),
            Credentials::Token {
                source: TokenSource::Flag,
                ..
            }
        ));
        i.token_flag = s("  ");
        i.gh_token = None;
        assert!(matches!(
            i.resolve().unwrap(),
            Credentials::Token {
                source: TokenSource::GithubToken,
                ..
            }
        ));
        assert!(matches!(
            CredentialInputs::default().resolve(),
            Err(Error::MissingToken)
        ));
    }

    #[test]
    fn app_needs_key() {
        let i = CredentialInputs {
            app_id: Some("12".into()),
            ..Default::default()
        };
        assert!(
            i.resolve()
                .unwrap_err()
                .to_string()
                .contains("GHOPS_APP_PRIVATE_KEY")
        );
        let i = CredentialInputs {
            app_id: Some("x".into()),
            ..Default::default()
        };
        assert!(
            i.resolve()
                .unwrap_err()
                .to_string()
                .contains("not a number")
        );
    }

    #[test]
    fn debug_redacts() {
        let c = Credentials::Token {
            token: SecretString::from("ghp_supersecret".to_owned()),
            source: TokenSource::Flag,
        };
        let d = format!("{c:?} {}", c.describe());
        assert!(!d.contains("supersecret"), "{d}");
        let i = CredentialInputs {
            token_flag: s("ghp_supersecret"),
            ..Default::default()
        };
        assert!(!format!("{i:?}").contains("supersecret"));
    }

    #[test]
    fn kinds() {
        assert_eq!(TokenKind::of("ghp_x"), TokenKind::ClassicPat);
        assert_eq!(TokenKind::of("github_pat_x"), TokenKind::FineGrainedPat);
        assert_eq!(TokenKind::of("ghs_x"), TokenKind::Installation);
        assert_eq!(TokenKind::of("x"), TokenKind::Unknown);
    }
}
