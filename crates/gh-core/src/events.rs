//! Typed, tolerant models of the webhook events ghops uses. Unknown fields are ignored;
//! a missing required field is an error naming its path (`comment.user.login`).

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// A GitHub account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Login.
    pub login: String,
    /// Numeric id.
    #[serde(default)]
    pub id: u64,
    /// `User`, `Bot` or `Organization`.
    #[serde(rename = "type", default)]
    pub user_type: Option<String>,
    /// Avatar URL.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Profile page (REST answers; absent in some webhook objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
}

/// A repository as webhooks carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    /// Numeric id.
    #[serde(default)]
    pub id: u64,
    /// Name.
    pub name: String,
    /// `owner/name`.
    pub full_name: String,
    /// Owner.
    pub owner: User,
    /// Whether this repository is a fork.
    #[serde(default)]
    pub fork: bool,
    /// Default branch.
    #[serde(default)]
    pub default_branch: Option<String>,
    /// Web URL.
    #[serde(default)]
    pub html_url: Option<String>,
}

/// The installation of a GitHub App that a delivery is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installation {
    /// Installation id.
    pub id: u64,
}

/// A label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Name.
    pub name: String,
}

/// An issue (or a PR seen as an issue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    /// Number.
    pub number: u64,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// Author.
    pub user: User,
    /// `open` or `closed`.
    #[serde(default)]
    pub state: String,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<Label>,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<Value>,
}

impl Issue {
    /// True when this issue is a pull request.
    pub fn is_pull_request(&self) -> bool {
        self.pull_request.as_ref().is_some_and(|v| !v.is_null())
    }
}

/// An issue or PR comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Comment id.
    pub id: u64,
    /// Body (may be absent on odd payloads: treated as empty).
    #[serde(default)]
    pub body: Option<String>,
    /// Author.
    pub user: User,
    /// Web URL.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Author association (informational only: never a permission level).
    #[serde(default)]
    pub author_association: Option<String>,
    /// Last update.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// `issue_comment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueCommentEvent {
    /// `created`, `edited`, `deleted`.
    pub action: String,
    /// The issue or PR.
    pub issue: Issue,
    /// The comment.
    pub comment: Comment,
    /// The repository.
    pub repository: Repository,
    /// Who triggered the delivery.
    pub sender: User,
    /// App installation, when delivered to an App.
    #[serde(default)]
    pub installation: Option<Installation>,
}

pub use crate::pulls::{GitRef, PullRequest};

/// `pull_request`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequestEvent {
    /// Action.
    pub action: String,
    /// PR number.
    pub number: u64,
    /// The PR.
    pub pull_request: PullRequest,
    /// Label added/removed (labeled/unlabeled).
    #[serde(default)]
    pub label: Option<Label>,
    /// Repository.
    pub repository: Repository,
    /// Sender.
    pub sender: User,
    /// App installation.
    #[serde(default)]
    pub installation: Option<Installation>,
}

/// A workflow job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowJob {
    /// Job id.
    pub id: u64,
    /// Run id.
    pub run_id: u64,
    /// Run attempt.
    #[serde(default = "one")]
    pub run_attempt: u64,
    /// Job name.
    #[serde(default)]
    pub name: String,
    /// `queued`, `waiting`, `in_progress`, `completed`.
    pub status: String,
    /// Conclusion once completed.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// `runs-on` labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Branch.
    #[serde(default)]
    pub head_branch: Option<String>,
    /// Commit.
    #[serde(default)]
    pub head_sha: Option<String>,
    /// Runner that took it.
    #[serde(default)]
    pub runner_name: Option<String>,
    /// Runner id.
    #[serde(default)]
    pub runner_id: Option<u64>,
    /// When the job was created (RFC 3339), as GitHub sent it.
    #[serde(default)]
    pub created_at: Option<String>,
}

fn one() -> u64 {
    1
}

/// `workflow_job`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowJobEvent {
    /// `queued`, `waiting`, `in_progress`, `completed`.
    pub action: String,
    /// The job.
    pub workflow_job: WorkflowJob,
    /// Repository.
    pub repository: Repository,
    /// App installation.
    #[serde(default)]
    pub installation: Option<Installation>,
}

/// A workflow run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRun {
    /// Run id.
    pub id: u64,
    /// Workflow name.
    #[serde(default)]
    pub name: Option<String>,
    /// Branch.
    #[serde(default)]
    pub head_branch: Option<String>,
    /// Commit.
    pub head_sha: String,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Conclusion.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// Triggering event.
    #[serde(default)]
    pub event: Option<String>,
    /// Attempt.
    #[serde(default = "one")]
    pub run_attempt: u64,
    /// Web URL.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Head repository (the fork for fork PRs).
    #[serde(default)]
    pub head_repository: Option<Repository>,
}

/// `workflow_run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowRunEvent {
    /// `requested`, `in_progress`, `completed`.
    pub action: String,
    /// The run.
    pub workflow_run: WorkflowRun,
    /// Repository.
    pub repository: Repository,
    /// App installation.
    #[serde(default)]
    pub installation: Option<Installation>,
}

/// A check run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRun {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Commit.
    pub head_sha: String,
    /// Status.
    pub status: String,
    /// Conclusion.
    #[serde(default)]
    pub conclusion: Option<String>,
}

/// `check_run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRunEvent {
    /// Action.
    pub action: String,
    /// The check run.
    pub check_run: CheckRun,
    /// Repository.
    pub repository: Repository,
    /// App installation.
    #[serde(default)]
    pub installation: Option<Installation>,
}

pub use crate::deployments::{Deployment, DeploymentStatus};

/// `deployment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentEvent {
    /// Action.
    pub action: String,
    /// Deployment.
    pub deployment: Deployment,
    /// Repository.
    pub repository: Repository,
    /// App installation.
    #[serde(default)]
    pub installation: Option<Installation>,
}

/// `deployment_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentStatusEvent {
    /// Action.
    pub action: String,
    /// The status.
    pub deployment_status: DeploymentStatus,
    /// The deployment.
    pub deployment: Deployment,
    /// Repository.
    pub repository: Repository,
    /// App installation.
    #[serde(default)]
    pub installation: Option<Installation>,
}

/// `push`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushEvent {
    /// Full ref (`refs/heads/main`).
    #[serde(rename = "ref")]
    pub ref_name: String,
    /// Before SHA.
    pub before: String,
    /// After SHA.
    pub after: String,
    /// Ref created?
    #[serde(default)]
    pub created: bool,
    /// Ref deleted?
    #[serde(default)]
    pub deleted: bool,
    /// Forced?
    #[serde(default)]
    pub forced: bool,
    /// Repository.
    pub repository: Repository,
    /// App installation.
    #[serde(default)]
    pub installation: Option<Installation>,
}

/// A release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// Id.
    pub id: u64,
    /// Tag.
    pub tag_name: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Draft?
    #[serde(default)]
    pub draft: bool,
    /// Prerelease?
    #[serde(default)]
    pub prerelease: bool,
    /// Target commitish.
    #[serde(default)]
    pub target_commitish: Option<String>,
    /// Body.
    #[serde(default)]
    pub body: Option<String>,
    /// Creation time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    /// Asset upload URL template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
}

/// `release`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseEvent {
    /// Action.
    pub action: String,
    /// Release.
    pub release: Release,
    /// Repository.
    pub repository: Repository,
    /// App installation.
    #[serde(default)]
    pub installation: Option<Installation>,
}

/// Any event ghops handles, by its `X-GitHub-Event` name.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// `issue_comment`.
    IssueComment(IssueCommentEvent),
    /// `pull_request`.
    PullRequest(PullRequestEvent),
    /// `workflow_job`.
    WorkflowJob(WorkflowJobEvent),
    /// `workflow_run`.
    WorkflowRun(WorkflowRunEvent),
    /// `check_run`.
    CheckRun(CheckRunEvent),
    /// `deployment`.
    Deployment(DeploymentEvent),
    /// `deployment_status`.
    DeploymentStatus(DeploymentStatusEvent),
    /// `push`.
    Push(PushEvent),
    /// `release`.
    Release(ReleaseEvent),
    /// `ping` or an event ghops does not handle.
    Other(String),
}

/// Decodes JSON bytes into `T`, naming the path of a missing or mistyped field.
pub fn decode<T: DeserializeOwned>(origin: &str, bytes: &[u8]) -> Result<T> {
    // The fast path: valid payloads (nearly all) decode without path tracking; only a failure
    // is decoded again to name the field.
    if let Ok(v) = serde_json::from_slice(bytes) {
        return Ok(v);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        Error::BadEvent {
            origin: origin.to_owned(),
            message: if path == "." || path.is_empty() {
                inner.to_string()
            } else {
                format!("at `{path}`: {inner}")
            },
        }
    })
}

impl Event {
    /// Parses a delivery body by its event name.
    pub fn parse(name: &str, body: &[u8]) -> Result<Event> {
        let o = "webhook body";
        Ok(match name {
            "issue_comment" => Event::IssueComment(decode(o, body)?),
            "pull_request" => Event::PullRequest(decode(o, body)?),
            "workflow_job" => Event::WorkflowJob(decode(o, body)?),
            "workflow_run" => Event::WorkflowRun(decode(o, body)?),
            "check_run" => Event::CheckRun(decode(o, body)?),
            "deployment" => Event::Deployment(decode(o, body)?),
            "deployment_status" => Event::DeploymentStatus(decode(o, body)?),
            "push" => Event::Push(decode(o, body)?),
            "release" => Event::Release(decode(o, body)?),
            other => Event::Other(other.to_owned()),
        })
    }

    /// The installation the delivery is for, if any.
    pub fn installation_id(&self) -> Option<u64> {
        let i = match self {
            Event::IssueComment(e) => &e.installation,
            Event::PullRequest(e) => &e.installation,
            Event::WorkflowJob(e) => &e.installation,
            Event::WorkflowRun(e) => &e.installation,
            Event::CheckRun(e) => &e.installation,
            Event::Deployment(e) => &e.installation,
            Event::DeploymentStatus(e) => &e.installation,
            Event::Push(e) => &e.installation,
            Event::Release(e) => &e.installation,
            Event::Other(_) => return None,
        };
        i.as_ref().map(|i| i.id)
    }
}

/// Loads an event from `--event FILE`, else `$GITHUB_EVENT_PATH`.
pub fn load_event<T: DeserializeOwned>(file: Option<&Path>) -> Result<T> {
    let env_path = std::env::var_os("GITHUB_EVENT_PATH").map(std::path::PathBuf::from);
    let path = file.map(Path::to_path_buf).or(env_path).ok_or_else(|| {
        Error::invalid(
            "--event",
            "no event file: pass --event FILE or set GITHUB_EVENT_PATH",
        )
    })?;
    let bytes = std::fs::read(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    decode(&path.display().to_string(), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_field_is_named() {
        let e = decode::<IssueCommentEvent>(
            "e.json",
            br#"{"action":"created","issue":{"number":1,"user":{"login":"a"}},"comment":{"id":1},"repository":{"name":"r","full_name":"o/r","owner":{"login":"o"}},"sender":{"login":"a"}}"#,
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(s.contains("comment") && s.contains("user"), "{s}");
        assert!(s.contains("e.json"), "{s}");
    }

    #[test]
    fn a_labeled_pull_request_of_a_deleted_author_decodes() {
        // GitHub's `pull_request.labeled` payload has a nullable `pull_request.user`.
        let e = decode::<PullRequestEvent>(
            "e.json",
            br#"{"action":"labeled","number":1,"label":{"name":"deploy/qa"},
                "pull_request":{"number":1,"state":"open","user":null,
                  "head":{"ref":"f","sha":"h","repo":null},"base":{"ref":"main","sha":"b"}},
                "repository":{"name":"r","full_name":"o/r","owner":{"login":"o"}},"sender":{"login":"a"}}"#,
        )
        .unwrap();
        assert_eq!(e.pull_request.user, None);
    }
}
