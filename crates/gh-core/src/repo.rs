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
        Self::locate(explicit, env_value, cwd).map(|l| l.repo)
    }

    /// Like [`RepoRef::resolve`], and also says which host the repository was named on: the
    /// host of the `origin` remote, or of a URL given as `--repo` (`https://HOST/o/r`,
    /// `git@HOST:o/r.git`). `OWNER/NAME` and `GITHUB_REPOSITORY` name no host.
    pub fn locate(explicit: Option<&str>, env_value: Option<&str>, cwd: &Path) -> Result<Located> {
        if let Some(s) = explicit {
            // `o/r.git` is `o/r`, as gh reads it (GitHub allows no repository name ending in
            // `.git`; a bare `.git` name is left to the check below).
            let bare = s
                .strip_suffix(".git")
                .filter(|b| !b.ends_with('/') && !s.contains("://") && !s.contains('@'))
                .unwrap_or(s);
            if let Ok(repo) = bare.parse() {
                return Ok(Located { repo, host: None });
            }
            return match Self::from_remote_url(s) {
                Some(repo) if s.contains("://") || s.contains('@') || s.ends_with(".git") => {
                    Ok(Located {
                        repo,
                        host: remote_host(s),
                    })
                }
                _ => Err(Error::invalid(
                    "--repo",
                    format!("{s:?} is not OWNER/NAME or a repository URL"),
                )),
            };
        }
        if let Some(s) = env_value.filter(|s| !s.is_empty()) {
            return s
                .parse()
                .map(|repo| Located { repo, host: None })
                .map_err(|_| {
                    Error::invalid(
                        "GITHUB_REPOSITORY",
                        format!("{s:?} is not of the form OWNER/NAME"),
                    )
                });
        }
        let url = origin_url(cwd)?;
        let repo = Self::from_remote_url(&url).ok_or_else(|| {
            Error::invalid(
                "--repo",
                format!("cannot read OWNER/NAME from the origin remote URL {url:?}"),
            )
        })?;
        Ok(Located {
            repo,
            host: remote_host(&url),
        })
    }
}

/// The URL of the `origin` remote of the git repository containing `cwd` (the `git` CLI's
/// `remote get-url`, so `url.*.insteadOf` rewrites apply as they do for `git push`).
fn origin_url(cwd: &Path) -> Result<String> {
    match git_cli(cwd, &["remote", "get-url", "origin"]) {
        Ok(out) => Ok(String::from_utf8_lossy(&out).trim().to_owned()),
        // `git remote get-url` exits 2 when the remote does not exist.
        Err(GitCliError::Failed { code: Some(2), .. }) => Err(Error::invalid(
            "--repo",
            "not given and the git repository has no `origin` remote",
        )),
        Err(_) => Err(Error::invalid(
            "--repo",
            "not given, GITHUB_REPOSITORY is unset and the current directory is not a git repository",
        )),
    }
}

/// Why [`git_cli`] failed.
#[derive(Debug, thiserror::Error)]
pub enum GitCliError {
    /// `git` could not be started (not installed, not on `PATH`).
    #[error("cannot run git: {0}")]
    Spawn(#[source] std::io::Error),
    /// `git` ran and exited unsuccessfully; `message` is its standard error, trimmed.
    #[error("{message}")]
    Failed {
        /// The exit code (none when killed by a signal).
        code: Option<i32>,
        /// What git wrote to standard error.
        message: String,
    },
}

/// Runs the `git` CLI in `dir` (`git -C DIR ARGS…`, standard input closed) and returns its
/// standard output. Local reads only (ghops links no git library): callers pass revisions
/// after `--end-of-options` where they come from users.
pub fn git_cli(dir: &Path, args: &[&str]) -> std::result::Result<Vec<u8>, GitCliError> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(GitCliError::Spawn)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(GitCliError::Failed {
            code: out.status.code(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// A repository and the host it was named on (see [`RepoRef::locate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The repository.
    pub repo: RepoRef,
    /// The git host of the remote or URL it came from (`github.com`, `ghe.example.com`).
    pub host: Option<String>,
}

/// The host of a git remote URL (`https://[user@]HOST[:port]/…`, `ssh://git@HOST[:port]/…`,
/// `git@HOST:o/r`), lower-cased, without user info or port.
pub fn remote_host(url: &str) -> Option<String> {
    let url = url.trim();
    let authority = if let Some((_, rest)) = url.split_once("://") {
        rest.split('/').next()?
    } else {
        url.split_once(':')?.0
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The REST API base for repositories hosted on `host`: `None` for github.com (the default
/// base), `https://api.HOST` for GitHub Enterprise Cloud with data residency (`*.ghe.com`),
/// `https://HOST/api/v3` for a GitHub Enterprise Server host. A host without a dot (an SSH
/// config alias such as `github-work`) names no server ghops can know: an error asking for
/// `--api-url`, so a token is never sent to a host the user did not choose.
pub fn api_url_for_host(host: &str) -> Result<Option<String>> {
    let host = host.trim_end_matches('.');
    if matches!(host, "github.com" | "www.github.com" | "ssh.github.com") {
        return Ok(None);
    }
    if host.ends_with(".ghe.com") {
        let host = host.strip_prefix("api.").unwrap_or(host);
        return Ok(Some(format!("https://api.{host}")));
    }
    if !host.contains('.') && !host.contains(':') {
        return Err(Error::invalid(
            "--api-url",
            format!(
                "the repository's remote names the host {host:?}, which is not github.com and \
                 not a server name ghops can reach (an SSH alias?): pass --api-url \
                 https://HOST/api/v3 (or set GITHUB_API_URL)"
            ),
        ));
    }
    Ok(Some(format!("https://{host}/api/v3")))
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
    fn remote_hosts_and_their_api() {
        for (url, host) in [
            ("https://github.com/o/r.git", "github.com"),
            (
                "https://x-access-token:secret@GHE.example.com:8443/o/r",
                "ghe.example.com",
            ),
            ("git@ghe.example.com:o/r.git", "ghe.example.com"),
            ("ssh://git@ghe.example.com:2222/o/r", "ghe.example.com"),
            ("git@github-work:o/r.git", "github-work"),
        ] {
            assert_eq!(remote_host(url).as_deref(), Some(host), "{url}");
        }
        assert_eq!(api_url_for_host("github.com").unwrap(), None);
        assert_eq!(api_url_for_host("ssh.github.com").unwrap(), None);
        assert_eq!(
            api_url_for_host("ghe.example.com").unwrap().as_deref(),
            Some("https://ghe.example.com/api/v3")
        );
        assert_eq!(
            api_url_for_host("octo.ghe.com").unwrap().as_deref(),
            Some("https://api.octo.ghe.com")
        );
        let e = api_url_for_host("github-work").unwrap_err().to_string();
        assert!(e.contains("--api-url"), "{e}");
    }

    #[test]
    fn repo_flag_accepts_urls_and_dot_git() {
        let cwd = Path::new("/nonexistent");
        for (s, host) in [
            ("o/r", None),
            ("o/r.git", None),
            ("https://github.com/o/r", Some("github.com")),
            ("https://github.com/o/r.git", Some("github.com")),
            ("git@ghe.example.com:o/r.git", Some("ghe.example.com")),
        ] {
            let l = RepoRef::locate(Some(s), None, cwd).unwrap();
            assert_eq!(l.repo, RepoRef::new("o", "r").unwrap(), "{s}");
            assert_eq!(l.host.as_deref(), host, "{s}");
        }
        assert!(RepoRef::locate(Some("nonsense"), None, cwd).is_err());
        assert!(RepoRef::locate(Some("a/b/c"), None, cwd).is_err());
    }

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
    fn origin_remote_is_read_with_the_git_cli() {
        let d = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| git_cli(d.path(), args).unwrap();
        // Not a repository yet.
        let e = RepoRef::locate(None, None, d.path()).unwrap_err();
        assert!(e.to_string().contains("not a git repository"), "{e}");
        git(&["init", "-q"]);
        let e = RepoRef::locate(None, None, d.path()).unwrap_err();
        assert!(e.to_string().contains("no `origin` remote"), "{e}");
        git(&[
            "remote",
            "add",
            "origin",
            "git@ghe.example.com:octo-org/hello.git",
        ]);
        std::fs::create_dir(d.path().join("sub")).unwrap();
        let l = RepoRef::locate(None, None, &d.path().join("sub")).unwrap();
        assert_eq!(l.repo.to_string(), "octo-org/hello");
        assert_eq!(l.host.as_deref(), Some("ghe.example.com"));
    }

    #[test]
    fn encodes() {
        assert_eq!(encode_ref("heads/test-this-pr/1"), "heads/test-this-pr/1");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }
}
