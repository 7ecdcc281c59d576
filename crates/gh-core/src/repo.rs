//! Repository coordinates (`OWNER/NAME`) and how ghops finds them.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A GitHub repository, `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct RepoRef {
    /// The owner (user or organisation) login.
    pub owner: String,
    /// The repository name.
    pub name: String,
}

fn valid_part(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl RepoRef {
    /// Builds a repository reference, validating both parts.
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Result<Self> {
        let (owner, name) = (owner.into(), name.into());
        if !valid_part(&owner) || !valid_part(&name) {
            return Err(Error::invalid(
                "repository",
                format!("{owner:?}/{name:?} is not OWNER/NAME"),
            ));
        }
        Ok(Self { owner, name })
    }

    /// `/repos/{owner}/{name}`, the prefix of every repository API path.
    pub fn api_path(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.name)
    }

    /// Parses a git remote URL (`https://host/o/r(.git)`, `git@host:o/r(.git)`, `ssh://git@host/o/r`).
    pub fn from_remote_url(url: &str) -> Option<Self> {
        let url = url.trim().trim_end_matches('/');
        let url = url.strip_suffix(".git").unwrap_or(url);
        let path = if let Some((_, rest)) = url.split_once("://") {
            rest.split_once('/')?.1
        } else if let Some((_, rest)) = url.split_once(':') {
            rest
        } else {
            return None;
        };
        let mut parts = path.rsplitn(3, '/');
        let name = parts.next()?;
        let owner = parts.next()?;
        Self::new(owner, name).ok()
    }

    /// Resolves the repository: an explicit value, else `GITHUB_REPOSITORY`, else the `origin`
    /// remote of the git repository containing `cwd`.
    pub fn resolve(explicit: Option<&str>, env_value: Option<&str>, cwd: &Path) -> Result<Self> {
        if let Some(s) = explicit {
            return s.parse().map_err(|_| {
                Error::invalid("--repo", format!("{s:?} is not of the form OWNER/NAME"))
            });
        }
        if let Some(s) = env_value.filter(|s| !s.is_empty()) {
            return s.parse().map_err(|_| {
                Error::invalid(
                    "GITHUB_REPOSITORY",
                    format!("{s:?} is not of the form OWNER/NAME"),
                )
            });
        }
        let repo = git2::Repository::discover(cwd).map_err(|_| {
            Error::invalid(
                "--repo",
                "not given, GITHUB_REPOSITORY is unset and the current directory is not a git repository",
            )
        })?;
        let remote = repo.find_remote("origin").map_err(|_| {
            Error::invalid(
                "--repo",
                "not given and the git repository has no `origin` remote",
            )
        })?;
        let url = remote.url().unwrap_or_default();
        Self::from_remote_url(url).ok_or_else(|| {
            Error::invalid(
                "--repo",
                format!("cannot read OWNER/NAME from the origin remote URL {url:?}"),
            )
        })
    }
}

impl FromStr for RepoRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (owner, name) = s
            .split_once('/')
            .ok_or_else(|| Error::invalid("repository", format!("{s:?} is not OWNER/NAME")))?;
        Self::new(owner, name)
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Percent-encodes one path segment (a branch name with `/` stays one segment only where the
/// API wants it so: refs keep their slashes, see [`encode_ref`]).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encodes a git ref for a path (`heads/test-this-pr/1`): each segment encoded, slashes kept.
pub fn encode_ref(r: &str) -> String {
    r.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// Encodes a query-string value.
pub fn encode_query(s: &str) -> String {
    encode_segment(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_remotes() {
        for u in [
            "https://github.com/o/r.git",
            "https://github.com/o/r",
            "git@github.com:o/r.git",
            "ssh://git@github.example.com/o/r",
            "https://ghe.example.com/o/r/",
        ] {
            assert_eq!(
                RepoRef::from_remote_url(u),
                Some(RepoRef::new("o", "r").unwrap()),
                "{u}"
            );
        }
        assert_eq!(RepoRef::from_remote_url("nonsense"), None);
    }

    #[test]
    fn rejects_bad_names() {
        assert!("o/../x".parse::<RepoRef>().is_err());
        assert!("o".parse::<RepoRef>().is_err());
        assert!("o/r?x=1".parse::<RepoRef>().is_err());
        assert!("o/..".parse::<RepoRef>().is_err());
        assert_eq!("a-b/c.d".parse::<RepoRef>().unwrap().to_string(), "a-b/c.d");
    }

    #[test]
    fn resolve_order() {
        let dir = std::env::temp_dir();
        assert_eq!(
            RepoRef::resolve(Some("a/b"), Some("c/d"), &dir)
                .unwrap()
                .to_string(),
            "a/b"
        );
        assert_eq!(
            RepoRef::resolve(None, Some("c/d"), &dir)
                .unwrap()
                .to_string(),
            "c/d"
        );
        let e = RepoRef::resolve(Some("bad"), None, &dir).unwrap_err();
        assert!(e.to_string().contains("--repo"));
    }

    #[test]
    fn encodes() {
        assert_eq!(encode_ref("heads/test-this-pr/1"), "heads/test-this-pr/1");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }
}
