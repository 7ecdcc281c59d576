//! Deterministic identities: one (repository, job id, run attempt) is one runner name and one
//! Kubernetes Job name, so a webhook, its duplicate delivery and a reconcile pass converge on
//! one launch.

use sha2::{Digest, Sha256};

/// The runner's environment variable holding the JIT config (what actions/runner's `run.sh`
/// reads). Named here, below both the configuration (which forbids a pod template to set it)
/// and the backends (which set it), so that neither imports the other.
pub const JIT_ENV: &str = "ACTIONS_RUNNER_INPUT_JITCONFIG";

/// The prefix of every runner and Job ghops creates.
pub const PREFIX: &str = "ghops-";

/// 8 hex characters of SHA-256 of the lower-cased `owner/name`.
pub fn repo_hash(full_name: &str) -> String {
    let d = Sha256::digest(full_name.to_ascii_lowercase().as_bytes());
    hex::encode(&d[..4])
}

/// `ghops-<repo-hash>-<job_id>-<attempt>`: a valid DNS-1123 label (at most 56 characters).
pub fn runner_name(full_name: &str, job_id: u64, attempt: u64) -> String {
    format!("{PREFIX}{}-{job_id}-{attempt}", repo_hash(full_name))
}

/// The runner name of a `workflow_job` event's job ([`runner_name`] of its repository, job id
/// and run attempt, attempt 0 counting as 1).
pub fn event_runner_name(ev: &gh_core::events::WorkflowJobEvent) -> String {
    runner_name(
        &ev.repository.full_name,
        ev.workflow_job.id,
        ev.workflow_job.run_attempt.max(1),
    )
}

/// `ghops-<pool-hash>-idle-<slot>`: the name of warm runner `slot` of a pool.
pub fn idle_name(pool: &str, slot: u32) -> String {
    format!("{PREFIX}{}-idle-{slot}", repo_hash(&format!("pool:{pool}")))
}

/// What a ghops runner name encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedName {
    /// A runner for one job.
    Job {
        /// Repository hash.
        repo_hash: String,
        /// Job id.
        job_id: u64,
        /// Run attempt.
        attempt: u64,
    },
    /// A warm runner.
    Idle {
        /// Pool hash.
        pool_hash: String,
        /// Slot.
        slot: u32,
    },
}

/// Parses a name ghops made; `None` for anything else (other runners are never touched).
pub fn parse_name(name: &str) -> Option<ParsedName> {
    let rest = name.strip_prefix(PREFIX)?;
    let mut parts = rest.split('-');
    let hash = parts.next()?;
    if hash.len() != 8 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let a = parts.next()?;
    let b = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if a == "idle" {
        return Some(ParsedName::Idle {
            pool_hash: hash.to_owned(),
            slot: num(b)?.try_into().ok()?,
        });
    }
    Some(ParsedName::Job {
        repo_hash: hash.to_owned(),
        job_id: num(a)?,
        attempt: num(b)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_and_parse_back() {
        let n = runner_name("Octo-Org/Hello", 42, 2);
        assert_eq!(n, runner_name("octo-org/hello", 42, 2));
        assert!(n.len() <= 63 && n.starts_with("ghops-"));
        assert_ne!(n, runner_name("octo-org/hello", 42, 3));
        assert_ne!(n, runner_name("octo-org/other", 42, 2));
        assert_eq!(
            parse_name(&n),
            Some(ParsedName::Job {
                repo_hash: repo_hash("octo-org/hello"),
                job_id: 42,
                attempt: 2
            })
        );
        let i = idle_name("linux", 1);
        assert!(matches!(
            parse_name(&i),
            Some(ParsedName::Idle { slot: 1, .. })
        ));
        assert_eq!(parse_name("my-runner-1"), None);
        assert_eq!(parse_name("ghops-zz-1-1"), None);
        assert_eq!(parse_name("ghops-0123abcd-1-1-1"), None);
        let max = runner_name("o/r", u64::MAX, u64::MAX);
        assert!(max.len() <= 63, "{max}");
    }
}
