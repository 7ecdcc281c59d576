//! What `env record`, `gate check` and `gate approve` take from the workflow run when a flag
//! is not given: who acts (`GITHUB_TRIGGERING_ACTOR`, else `GITHUB_ACTOR`), which commit
//! (`GITHUB_SHA`), which branch, this run (`GITHUB_RUN_ID`) and its log URL. A missing
//! required value is a [`ReleaseError::Config`] naming the flag.

use gh_core::actions::RunEnv;

use super::record::{DeployState, RecordRequest};
use crate::error::ReleaseError;
use crate::gate::GateRequest;

/// Who acts: `flag`, else the run's actor ([`RunEnv::actor`]).
pub fn actor(flag: Option<String>, run: &RunEnv) -> Result<String, ReleaseError> {
    flag.or_else(|| run.actor().map(str::to_owned))
        .ok_or_else(|| {
            ReleaseError::Config("--actor: not given and $GITHUB_ACTOR is not set".into())
        })
}

/// Which commit: `flag`, else `GITHUB_SHA`.
pub fn sha(flag: Option<String>, run: &RunEnv) -> Result<String, ReleaseError> {
    flag.or_else(|| run.sha.clone())
        .ok_or_else(|| ReleaseError::Config("--sha: not given and $GITHUB_SHA is not set".into()))
}

/// `env record`'s inputs as given (`None`: take the run's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordInputs {
    /// Environment.
    pub environment: String,
    /// State.
    pub state: DeployState,
    /// Environment URL.
    pub url: Option<String>,
    /// Log URL [default: this run's page].
    pub log_url: Option<String>,
    /// Commit [default: `GITHUB_SHA`].
    pub sha: Option<String>,
    /// Branch [default: `GITHUB_HEAD_REF`, else `GITHUB_REF_NAME`, else empty].
    pub git_ref: Option<String>,
    /// PR number.
    pub pr: Option<u64>,
    /// Who deploys [default: the run's actor].
    pub actor: Option<String>,
    /// A transient (preview) environment.
    pub transient: bool,
}

impl RecordInputs {
    /// The request, with the run's defaults filled in.
    pub fn resolve(self, run: &RunEnv) -> Result<RecordRequest, ReleaseError> {
        Ok(RecordRequest {
            sha: sha(self.sha, run)?,
            git_ref: self
                .git_ref
                .or_else(|| run.head_ref.clone())
                .or_else(|| run.ref_name.clone())
                .unwrap_or_default(),
            actor: actor(self.actor, run)?,
            log_url: self.log_url.or_else(|| run.run_url()),
            environment: self.environment,
            state: self.state,
            pr: self.pr,
            transient: self.transient,
            url: self.url,
        })
    }
}

/// `gate check`'s inputs as given (`None`: take the run's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateInputs {
    /// Environment promoted to.
    pub environment: String,
    /// Commit [default: `GITHUB_SHA`].
    pub sha: Option<String>,
    /// Branch or tag [default: `GITHUB_REF_NAME`, else empty].
    pub git_ref: Option<String>,
    /// Who asks [default: the run's actor].
    pub actor: Option<String>,
    /// This run [default: `GITHUB_RUN_ID`].
    pub run_id: Option<u64>,
}

impl GateInputs {
    /// The request (approved, if authorised, now), with the run's defaults filled in.
    pub fn resolve(self, run: &RunEnv) -> Result<GateRequest, ReleaseError> {
        let mut req = GateRequest::now(
            &self.environment,
            &sha(self.sha, run)?,
            &self
                .git_ref
                .or_else(|| run.ref_name.clone())
                .unwrap_or_default(),
            &actor(self.actor, run)?,
        );
        req.run_id = self.run_id.or_else(|| run.run_id());
        Ok(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> RunEnv {
        RunEnv {
            actor: Some("alice".into()),
            triggering_actor: Some("bob".into()),
            sha: Some("a".repeat(40)),
            ref_name: Some("main".into()),
            head_ref: Some("feature-x".into()),
            server_url: Some("https://github.com".into()),
            repository: Some("o/r".into()),
            run_id: Some("77".into()),
            ..RunEnv::default()
        }
    }

    fn record(run: &RunEnv) -> Result<RecordRequest, ReleaseError> {
        RecordInputs {
            environment: "qa1".into(),
            state: DeployState::Success,
            url: None,
            log_url: None,
            sha: None,
            git_ref: None,
            pr: Some(7),
            actor: None,
            transient: false,
        }
        .resolve(run)
    }

    #[test]
    fn record_takes_the_runs_defaults() {
        let r = record(&run()).unwrap();
        assert_eq!(
            (r.sha.as_str(), r.git_ref.as_str(), r.actor.as_str()),
            (&*"a".repeat(40), "feature-x", "bob")
        );
        assert_eq!(
            r.log_url.as_deref(),
            Some("https://github.com/o/r/actions/runs/77")
        );
        let bare = RunEnv {
            sha: Some("b".repeat(40)),
            actor: Some("alice".into()),
            ..RunEnv::default()
        };
        let r = record(&bare).unwrap();
        assert_eq!((r.git_ref.as_str(), r.log_url), ("", None));
        assert_eq!(r.actor, "alice");
    }

    #[test]
    fn missing_values_name_the_flag() {
        let no_sha = RunEnv {
            actor: Some("a".into()),
            ..RunEnv::default()
        };
        assert_eq!(
            record(&no_sha).unwrap_err().to_string(),
            "--sha: not given and $GITHUB_SHA is not set"
        );
        let no_actor = RunEnv {
            sha: Some("s".into()),
            ..RunEnv::default()
        };
        let e = record(&no_actor).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--actor: not given and $GITHUB_ACTOR is not set"
        );
        assert_eq!(gh_core::ExitStatus::exit_code(&e), gh_core::ExitCode::Usage);
    }

    #[test]
    fn gate_flags_win_over_the_run() {
        let g = GateInputs {
            environment: "production".into(),
            sha: None,
            git_ref: None,
            actor: None,
            run_id: None,
        };
        let r = g.clone().resolve(&run()).unwrap();
        assert_eq!(
            (r.git_ref.as_str(), r.actor.as_str(), r.run_id),
            ("main", "bob", Some(77))
        );
        let r = GateInputs {
            sha: Some("c".repeat(40)),
            git_ref: Some("v1".into()),
            actor: Some("carol".into()),
            run_id: Some(5),
            ..g
        }
        .resolve(&run())
        .unwrap();
        assert_eq!(
            (r.sha, r.git_ref, r.actor, r.run_id),
            ("c".repeat(40), "v1".into(), "carol".into(), Some(5))
        );
    }
}
