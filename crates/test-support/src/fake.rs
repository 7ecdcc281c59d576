//! A stateful fake GitHub: one repository whose refs, commits, releases, pull requests,
//! labels (with their issue events), comments, deployments (with GitHub's `auto_inactive`
//! rule), environments, collaborator permissions and pending deployments live between calls,
//! served with GitHub's REST shapes over a [`MockGitHub`] (so tests still assert the exact
//! requests and that no stray write happened).
//!
//! ```no_run
//! # async fn t() {
//! use ghops_test_support::fake::{FakeGitHub, Fault};
//! let gh = FakeGitHub::start("octo/app").await;
//! gh.set_permission("maintainer", "write");
//! gh.add_pull(10, "feature/x", &"a".repeat(40), "alice");
//! gh.label(10, "deploy/qa1", "maintainer");
//! let event = gh.pull_request_event(10, "labeled", Some("deploy/qa1"), "maintainer");
//! // ... run the code under test against gh.uri() with `event` ...
//! gh.fail_write(1, Fault::After); // the next write is applied, then answered 502
//! gh.assert_no_unrouted();
//! # let _ = event;
//! # }
//! ```
//!
//! What it serves (under `/repos/{owner}/{name}` unless noted; lists are newest first where
//! GitHub's are, paginated with `per_page`/`page` and a `Link` header):
//!
//! | area | routes |
//! |---|---|
//! | identity | `GET /user`, `GET /rate_limit` |
//! | permissions | `GET collaborators/{user}/permission` (404 for a non-collaborator) |
//! | refs, tags | `GET git/ref/{ref}`, `GET git/matching-refs/{prefix}`, `POST git/refs`, `PATCH`/`DELETE git/refs/{ref}`, `GET`/`POST git/tags` (annotated tags) |
//! | commits | `GET commits/{sha}`, `GET compare/{base}...{head}` (commits of head not in base) |
//! | releases | `GET releases`, `GET releases/tags/{tag}`, `POST releases`, `PATCH`/`DELETE releases/{id}` |
//! | pulls | `GET pulls` (`state`, `head=owner:branch`, `base`), `GET pulls/{n}`, `POST pulls`, `PATCH pulls/{n}` |
//! | issues | `GET issues` (`state`, `labels`), `GET`/`POST issues/{n}/labels`, `DELETE issues/{n}/labels/{name}`, `GET issues/{n}/events`, `GET`/`POST issues/{n}/comments`, `PATCH`/`DELETE issues/comments/{id}` |
//! | deployments | `GET deployments` (`environment`, `sha`, `ref`), `GET deployments/{id}`, `POST deployments`, `GET`/`POST deployments/{id}/statuses`, `GET environments` |
//! | workflow runs | `GET actions/runs/{id}` |
//! | pending deployments | `GET`/`POST actions/runs/{id}/pending_deployments` |
//!
//! Faults: [`FakeGitHub::fail_write`] fails the nth write from now;
//! [`FakeGitHub::fail_status_post`] the next deployment status POST of a given state (both
//! [`Fault::Before`], never applied, or [`Fault::After`], applied and the answer lost).
//! [`FakeGitHub::delay_status_posts`] answers status POSTs late and
//! [`FakeGitHub::stale_latest_reads`] answers a latest-status read from before a claim landed:
//! what the deploy agent's lock tests race on. [`FakeGitHub::add_raw_deployment`] and
//! [`FakeGitHub::add_raw_status`] seed objects exactly as given.
//!
//! Anything else is answered 404 and listed by [`FakeGitHub::unrouted`]. A test may still
//! mount its own mocks on [`MockGitHub::server`]: they take precedence over the fake.
//!
//! Time is a logical clock: it starts at 2026-01-01T00:00:00Z and every write advances it by
//! one second ([`FakeGitHub::advance`] moves it further), so "newest" is always well defined.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::{MockGitHub, Seen};

/// Where an injected 502 falls relative to the write it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answered 502 without applying the write (GitHub never saw it).
    Before,
    /// Applied, then answered 502 (the answer was lost).
    After,
}

/// The login ghops acts as in the fake (`GET /user`, creator of what it writes).
pub const FAKE_LOGIN: &str = "ghops-bot";

/// The state the fake keeps between calls; [`FakeGitHub::state`] gives access for seeding and
/// assertions beyond the helpers.
#[derive(Debug, Default)]
pub struct State {
    /// `owner/name`.
    pub full_name: String,
    /// Seconds since 2026-01-01T00:00:00Z.
    pub clock: u64,
    /// Last id handed out (shared by every kind of object).
    pub next_id: u64,
    /// Writes received so far (faulted ones included).
    pub write_count: usize,
    /// Armed faults: write number (1-based, counted over the fake's life) → fault.
    pub faults: BTreeMap<usize, Fault>,
    /// Collaborator permissions: login → `admin|maintain|write|triage|read`.
    pub permissions: BTreeMap<String, String>,
    /// Refs: `heads/main`, `tags/v1.0.0` → object SHA (a commit, or an annotated tag object).
    pub refs: BTreeMap<String, String>,
    /// Annotated tag objects by SHA: `{sha, tag, message, object: {sha, type}}`.
    pub tags: BTreeMap<String, Value>,
    /// Commits by SHA: `{sha, parents: [sha], author: login, message}`.
    pub commits: BTreeMap<String, Value>,
    /// Releases, oldest first (GitHub's release objects).
    pub releases: Vec<Value>,
    /// Issues and pull requests by number.
    pub issues: BTreeMap<u64, Issue>,
    /// Issue and PR comments, oldest first.
    pub comments: Vec<Value>,
    /// Deployments, oldest first.
    pub deployments: Vec<Value>,
    /// Deployment statuses by deployment id, oldest first.
    pub statuses: BTreeMap<u64, Vec<Value>>,
    /// Environment names (created by the first deployment to them, or seeded).
    pub environments: BTreeSet<String>,
    /// Pending deployments by run id: `{environment: {id, name}, current_user_can_approve}`.
    pub pending: BTreeMap<u64, Vec<Value>>,
    /// Workflow runs by id (`GET actions/runs/{id}`): `{id, event, head_sha, actor, triggering_actor}`.
    pub runs: BTreeMap<u64, Value>,
    /// Decisions posted to pending deployments: `(run id, body)`.
    pub decisions: Vec<(u64, Value)>,
    /// Requests no route served.
    pub unrouted: Vec<Seen>,
    /// Faults for deployment status POSTs, by state (`None`: any), consumed in order.
    pub status_faults: VecDeque<(Option<String>, Fault)>,
    /// Delays of the answers to deployment status POSTs, by state (the write applies at once).
    pub status_delays: BTreeMap<String, Duration>,
    /// Deployment id → how many more `per_page=1` status reads answer no status at all.
    pub stale_latest: BTreeMap<u64, usize>,
}

/// An issue or pull request.
#[derive(Debug, Clone, Default)]
pub struct Issue {
    /// Number.
    pub number: u64,
    /// Author login.
    pub user: String,
    /// `open` or `closed`.
    pub state: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Label names, in the order added.
    pub labels: Vec<String>,
    /// Issue events (`labeled`, `unlabeled`, `closed`, `reopened`), oldest first.
    pub events: Vec<Value>,
    /// Pull request part (`None` for a plain issue).
    pub pull: Option<Pull>,
}

/// The pull-request part of an [`Issue`].
#[derive(Debug, Clone, Default)]
pub struct Pull {
    /// Head branch.
    pub head: String,
    /// Head SHA.
    pub head_sha: String,
    /// Base branch.
    pub base: String,
    /// Merged.
    pub merged: bool,
    /// Draft.
    pub draft: bool,
}

impl State {
    fn now(&self) -> String {
        time_at(self.clock)
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn repo_json(&self) -> Value {
        let (owner, name) = self.full_name.split_once('/').unwrap_or(("", ""));
        json!({"name": name, "full_name": self.full_name, "owner": {"login": owner}})
    }

    fn user(login: &str) -> Value {
        let kind = if login.ends_with("[bot]") {
            "Bot"
        } else {
            "User"
        };
        json!({"login": login, "type": kind})
    }

    fn issue_json(&self, i: &Issue) -> Value {
        let mut v = json!({
            "number": i.number,
            "title": i.title,
            "body": i.body,
            "state": i.state,
            "user": State::user(&i.user),
            "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
        });
        if i.pull.is_some() {
            v["pull_request"] =
                json!({"url": format!("/repos/{}/pulls/{}", self.full_name, i.number)});
        }
        v
    }

    fn pull_json(&self, i: &Issue) -> Value {
        let p = i.pull.clone().unwrap_or_default();
        let owner = self.full_name.split('/').next().unwrap_or("");
        json!({
            "number": i.number,
            "title": i.title,
            "body": i.body,
            "state": i.state,
            "draft": p.draft,
            "merged": p.merged,
            "user": State::user(&i.user),
            "labels": i.labels.iter().map(|l| json!({"name": l})).collect::<Vec<_>>(),
            "head": {"ref": p.head, "sha": p.head_sha, "label": format!("{owner}:{}", p.head), "repo": self.repo_json()},
            "base": {"ref": p.base, "sha": self.resolve(&p.base).unwrap_or_default(), "label": format!("{owner}:{}", p.base), "repo": self.repo_json()},
        })
    }

    fn add_event(&mut self, n: u64, event: &str, actor: &str, label: Option<&str>) {
        let id = self.id();
        let at = self.now();
        if let Some(i) = self.issues.get_mut(&n) {
            let mut e =
                json!({"id": id, "event": event, "actor": State::user(actor), "created_at": at});
            if let Some(l) = label {
                e["label"] = json!({"name": l});
            }
            i.events.push(e);
        }
    }

    fn add_label(&mut self, n: u64, label: &str, actor: &str) -> bool {
        let Some(i) = self.issues.get_mut(&n) else {
            return false;
        };
        if !i.labels.iter().any(|l| l == label) {
            i.labels.push(label.to_owned());
            self.add_event(n, "labeled", actor, Some(label));
        }
        true
    }

    fn remove_label(&mut self, n: u64, label: &str, actor: &str) -> bool {
        let Some(i) = self.issues.get_mut(&n) else {
            return false;
        };
        let before = i.labels.len();
        i.labels.retain(|l| l != label);
        if i.labels.len() == before {
            return false;
        }
        self.add_event(n, "unlabeled", actor, Some(label));
        true
    }

    /// The commit a ref or SHA names (peeling annotated tags).
    pub fn resolve(&self, r: &str) -> Option<String> {
        let mut sha = if is_sha(r) {
            r.to_owned()
        } else {
            ["heads/", "tags/", ""]
                .iter()
                .find_map(|p| {
                    self.refs
                        .get(&format!("{p}{}", r.trim_start_matches("refs/")))
                })?
                .clone()
        };
        while let Some(t) = self.tags.get(&sha) {
            sha = t["object"]["sha"].as_str()?.to_owned();
        }
        Some(sha)
    }

    /// The latest status of deployment `id`.
    pub fn latest_status(&self, id: u64) -> Option<&Value> {
        self.statuses.get(&id).and_then(|s| s.last())
    }

    fn ancestors(&self, sha: &str) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![sha.to_owned()];
        while let Some(s) = todo.pop() {
            if !seen.insert(s.clone()) {
                continue;
            }
            if let Some(c) = self.commits.get(&s) {
                for p in c["parents"].as_array().into_iter().flatten() {
                    if let Some(p) = p.as_str() {
                        todo.push(p.to_owned());
                    }
                }
            }
        }
        seen
    }

    fn commit_json(&self, sha: &str) -> Value {
        let c = &self.commits[sha];
        json!({
            "sha": sha,
            "commit": {"message": c["message"], "author": {"name": c["author"], "date": c["date"]}},
            "author": State::user(c["author"].as_str().unwrap_or("")),
            "committer": State::user(c["author"].as_str().unwrap_or("")),
            "parents": c["parents"].as_array().into_iter().flatten().map(|p| json!({"sha": p})).collect::<Vec<_>>(),
        })
    }
}

/// `2026-01-01T00:00:00Z` plus `secs` seconds, RFC 3339.
pub fn time_at(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Days from 2026-01-01 to a civil date (no leap day before 2028).
    let months = [31u64, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let (mut y, mut d) = (2026u64, days);
    loop {
        let len = if y % 4 == 0 { 366 } else { 365 };
        if d < len {
            break;
        }
        d -= len;
        y += 1;
    }
    let mut m = 0;
    while m < 12 {
        let len = months[m] + u64::from(m == 1 && y % 4 == 0);
        if d < len {
            break;
        }
        d -= len;
        m += 1;
    }
    format!(
        "{y:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        m + 1,
        d + 1,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A SHA-like name for object `id`: 40 hex digits that differ in their first seven.
fn fake_sha(id: u64) -> String {
    // splitmix64: well spread, deterministic.
    let mut x = id;
    let mut out = String::new();
    while out.len() < 40 {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.push_str(&format!("{:016x}", z ^ (z >> 31)));
    }
    out.truncate(40);
    out
}

fn is_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A stateful fake GitHub serving one repository (see the [module docs](self)).
pub struct FakeGitHub {
    /// The underlying mock: its request log, assertions and `server` for extra mocks.
    pub mock: MockGitHub,
    state: Arc<Mutex<State>>,
}

impl Deref for FakeGitHub {
    type Target = MockGitHub;
    fn deref(&self) -> &MockGitHub {
        &self.mock
    }
}

impl FakeGitHub {
    /// Starts a fake serving `full` (`owner/name`), with `heads/main` at an initial commit.
    pub async fn start(full: &str) -> Self {
        let mock = MockGitHub::start().await;
        let state = Arc::new(Mutex::new(State {
            full_name: full.to_owned(),
            ..State::default()
        }));
        Mock::given(|_: &Request| true)
            .respond_with(Responder {
                state: state.clone(),
                base: mock.uri(),
            })
            .with_priority(u8::MAX)
            .named("fake GitHub")
            .mount(&mock.server)
            .await;
        let f = Self { mock, state };
        let root = f.commit(&[], "root", "initial commit");
        f.set_ref("heads/main", &root);
        f
    }

    /// The state, locked (seed or inspect anything the helpers do not cover).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("fake state")
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: u64) {
        self.state().clock += secs;
    }

    /// The current time of the fake's clock (RFC 3339).
    pub fn now(&self) -> String {
        self.state().now()
    }

    /// Arms a fault on the `nth` write from now (1 = the next write).
    pub fn fail_write(&self, nth: usize, fault: Fault) {
        let mut s = self.state();
        let at = s.write_count + nth;
        s.faults.insert(at, fault);
    }

    /// Writes received so far (faulted ones included).
    pub fn write_count(&self) -> usize {
        self.state().write_count
    }

    /// Requests no route served.
    pub fn unrouted(&self) -> Vec<Seen> {
        self.state().unrouted.clone()
    }

    /// Asserts that every request hit a route of the fake.
    pub fn assert_no_unrouted(&self) {
        let u = self.unrouted();
        assert!(u.is_empty(), "requests the fake does not serve: {u:#?}");
    }

    /// Sets a collaborator's permission (`admin`, `maintain`, `write`, `triage`, `read`).
    pub fn set_permission(&self, user: &str, level: &str) {
        self.state()
            .permissions
            .insert(user.to_owned(), level.to_owned());
    }

    /// Adds a commit by `author` with these parents; returns its SHA (derived from the id).
    pub fn commit(&self, parents: &[&str], author: &str, message: &str) -> String {
        let mut s = self.state();
        let id = s.id();
        let sha = fake_sha(id);
        let at = s.now();
        s.commits.insert(
            sha.clone(),
            json!({"sha": sha, "parents": parents, "author": author, "message": message, "date": at}),
        );
        sha
    }

    /// Adds a commit on top of branch `branch` and moves the branch; returns its SHA.
    pub fn push(&self, branch: &str, author: &str, message: &str) -> String {
        let head = self.state().refs.get(&format!("heads/{branch}")).cloned();
        let parents: Vec<&str> = head.iter().map(String::as_str).collect();
        let sha = self.commit(&parents, author, message);
        self.set_ref(&format!("heads/{branch}"), &sha);
        let mut s = self.state();
        for i in s.issues.values_mut() {
            if let Some(p) = i.pull.as_mut()
                && p.head == branch
                && i.state == "open"
            {
                p.head_sha = sha.clone();
            }
        }
        sha
    }

    /// Points `r` (`heads/x`, `tags/v1`) at `sha`.
    pub fn set_ref(&self, r: &str, sha: &str) {
        self.state().refs.insert(r.to_owned(), sha.to_owned());
    }

    /// Adds an environment (as if created in the settings).
    pub fn add_environment(&self, name: &str) {
        self.state().environments.insert(name.to_owned());
    }

    /// Opens pull request `n` from `head` (at `head_sha`) into `main` by `author`.
    pub fn add_pull(&self, n: u64, head: &str, head_sha: &str, author: &str) {
        let mut s = self.state();
        s.issues.insert(
            n,
            Issue {
                number: n,
                user: author.to_owned(),
                state: "open".into(),
                title: format!("PR {n}"),
                pull: Some(Pull {
                    head: head.to_owned(),
                    head_sha: head_sha.to_owned(),
                    base: "main".into(),
                    ..Pull::default()
                }),
                ..Issue::default()
            },
        );
        s.refs.insert(format!("heads/{head}"), head_sha.to_owned());
    }

    /// Sets PR `n`'s head SHA (a push to its branch).
    pub fn set_head(&self, n: u64, sha: &str) {
        let mut s = self.state();
        s.clock += 1;
        if let Some(p) = s.issues.get_mut(&n).and_then(|i| i.pull.as_mut()) {
            p.head_sha = sha.to_owned();
        }
    }

    /// `actor` adds `label` to issue `n` (with its `labeled` event).
    pub fn label(&self, n: u64, label: &str, actor: &str) {
        let mut s = self.state();
        s.clock += 1;
        s.add_label(n, label, actor);
    }

    /// `actor` removes `label` from issue `n` (with its `unlabeled` event).
    pub fn unlabel(&self, n: u64, label: &str, actor: &str) {
        let mut s = self.state();
        s.clock += 1;
        s.remove_label(n, label, actor);
    }

    /// Closes or reopens issue `n`.
    pub fn set_open(&self, n: u64, open: bool, actor: &str) {
        let mut s = self.state();
        s.clock += 1;
        if let Some(i) = s.issues.get_mut(&n) {
            i.state = if open { "open" } else { "closed" }.into();
        }
        s.add_event(n, if open { "reopened" } else { "closed" }, actor, None);
    }

    /// The labels on issue `n`.
    pub fn labels(&self, n: u64) -> Vec<String> {
        self.state()
            .issues
            .get(&n)
            .map(|i| i.labels.clone())
            .unwrap_or_default()
    }

    /// The comments on issue `n` (bodies), oldest first.
    pub fn comments(&self, n: u64) -> Vec<String> {
        self.state()
            .comments
            .iter()
            .filter(|c| c["issue_number"] == json!(n))
            .map(|c| c["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Every deployment, oldest first.
    pub fn deployments(&self) -> Vec<Value> {
        self.state().deployments.clone()
    }

    /// Every status of deployment `id`, oldest first.
    pub fn statuses(&self, id: u64) -> Vec<Value> {
        self.state().statuses.get(&id).cloned().unwrap_or_default()
    }

    /// `(environment, pr, state of the latest status)` of every deployment whose latest
    /// status is not `inactive`: what runs where.
    pub fn active(&self) -> Vec<(String, Option<u64>, String)> {
        let s = self.state();
        s.deployments
            .iter()
            .filter_map(|d| {
                let id = d["id"].as_u64()?;
                let st = s.latest_status(id)?["state"].as_str()?.to_owned();
                (st != "inactive" && st != "failure" && st != "error").then(|| {
                    let p = payload(d);
                    (
                        d["environment"].as_str().unwrap_or("").to_owned(),
                        p["pr"].as_u64(),
                        st,
                    )
                })
            })
            .collect()
    }

    /// Seeds a deployment (as if another tool made it); returns its id.
    pub fn add_deployment(&self, environment: &str, sha: &str, payload: Value) -> u64 {
        let mut s = self.state();
        s.clock += 1;
        let body = json!({"ref": sha, "environment": environment, "payload": payload});
        let d = create_deployment(&mut s, &body, "someone").expect("seed deployment");
        d["id"].as_u64().unwrap_or_default()
    }

    /// Seeds a status on deployment `id` (GitHub's rules applied, `auto_inactive` included).
    pub fn add_status(&self, id: u64, state: &str) {
        let mut s = self.state();
        s.clock += 1;
        create_status(&mut s, id, &json!({"state": state}), "someone");
    }

    /// Adds a deployment object as given (its `id`, `sha` and `ref` included, no ref
    /// resolved), the newest; the flags GitHub always answers are filled in when absent, with
    /// GitHub's defaults (`transient_environment: false`, `production_environment` for the
    /// environment `production`). Later ids the fake hands out are above it.
    pub fn add_raw_deployment(&self, deployment: Value) {
        let mut deployment = deployment;
        let production = deployment["environment"] == "production";
        if let Some(o) = deployment.as_object_mut() {
            o.entry("transient_environment").or_insert(json!(false));
            o.entry("production_environment")
                .or_insert(json!(production));
        }
        let mut s = self.state();
        let id = deployment["id"].as_u64().expect("a deployment with an id");
        s.next_id = s.next_id.max(id);
        if let Some(env) = deployment["environment"].as_str() {
            s.environments.insert(env.to_owned());
        }
        s.deployments.push(deployment);
    }

    /// Stores `status` on deployment `id` as given (as if posted earlier; no rule applied),
    /// with a fresh id.
    pub fn add_raw_status(&self, id: u64, status: Value) {
        let mut s = self.state();
        let sid = s.id();
        let mut status = status;
        status["id"] = json!(sid);
        s.statuses.entry(id).or_default().push(status);
    }

    /// Injects `fault` into the next status POST of `state` (`None`: of any state); faults
    /// queue up and are consumed in order.
    pub fn fail_status_post(&self, state: Option<&str>, fault: Fault) {
        self.state()
            .status_faults
            .push_back((state.map(str::to_owned), fault));
    }

    /// Answers status POSTs of `state` only after `delay` (applied at once): makes two
    /// agents' claims land before either sees its answer.
    pub fn delay_status_posts(&self, state: &str, delay: Duration) {
        self.state().status_delays.insert(state.to_owned(), delay);
    }

    /// Answers the next `n` reads of deployment `id`'s latest status (`per_page=1`) with no
    /// status at all, as a read made just before another agent's claim landed would be: two
    /// agents that both get it both claim, deterministically.
    pub fn stale_latest_reads(&self, id: u64, n: usize) {
        self.state().stale_latest.insert(id, n);
    }

    /// The states of deployment `id`'s statuses, oldest first.
    pub fn states(&self, id: u64) -> Vec<String> {
        self.statuses(id)
            .iter()
            .map(|s| s["state"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// How many of deployment `id`'s statuses are terminal (success, failure, error,
    /// inactive).
    pub fn terminal_count(&self, id: u64) -> usize {
        self.states(id)
            .iter()
            .filter(|s| matches!(s.as_str(), "success" | "failure" | "error" | "inactive"))
            .count()
    }

    /// How many of deployment `id`'s statuses are `in_progress`.
    pub fn in_progress_count(&self, id: u64) -> usize {
        self.states(id)
            .iter()
            .filter(|s| *s == "in_progress")
            .count()
    }

    /// Seeds a run's deployment waiting on `environment`.
    pub fn add_pending(&self, run_id: u64, environment: &str, can_approve: bool) {
        let mut s = self.state();
        let id = s.id();
        s.pending.entry(run_id).or_default().push(json!({
            "environment": {"id": id, "name": environment},
            "wait_timer": 0,
            "current_user_can_approve": can_approve,
            "reviewers": [],
        }));
    }

    /// Adds workflow run `id`, a `workflow_dispatch` of `head_sha` started by `actor`.
    pub fn add_run(&self, id: u64, actor: &str, head_sha: &str) {
        self.state().runs.insert(
            id,
            json!({
                "id": id, "event": "workflow_dispatch", "head_sha": head_sha, "status": "in_progress",
                "actor": State::user(actor), "triggering_actor": State::user(actor),
            }),
        );
    }

    /// Publishes release `tag` at `sha` and records a successful deployment of it to
    /// `staging`: what production's promotion rules (`[env.promote]` defaults) ask before
    /// `gate check` approves `sha`.
    pub fn add_release_staged(&self, tag: &str, sha: &str) {
        self.add_release(tag, sha, false);
        let staged = self.add_deployment("staging", sha, json!({}));
        self.add_status(staged, "success");
    }

    /// Publishes release `tag` at `sha` with an annotated tag (as `git tag -a` and a push, then
    /// a release from the tag).
    pub fn add_release(&self, tag: &str, sha: &str, prerelease: bool) {
        let mut s = self.state();
        s.clock += 1;
        let id = s.id();
        let obj = fake_sha(id | (1 << 40));
        let at = s.now();
        s.tags.insert(
            obj.clone(),
            json!({"sha": obj, "tag": tag, "message": tag, "object": {"sha": sha, "type": "commit"},
                   "tagger": {"name": "release-manager", "date": at}}),
        );
        s.refs.insert(format!("tags/{tag}"), obj);
        let rid = s.id();
        let full = s.full_name.clone();
        s.releases.push(json!({
            "id": rid, "tag_name": tag, "name": tag, "body": "", "target_commitish": "main",
            "draft": false, "prerelease": prerelease, "created_at": at, "published_at": at,
            "author": State::user("release-manager"),
            "html_url": format!("https://github.com/{full}/releases/tag/{tag}"),
        }));
    }

    /// A `pull_request` event for PR `n` as GitHub would send it now (labels, head and state
    /// from the fake's state), with `action`, the event's `label` and `sender`.
    pub fn pull_request_event(
        &self,
        n: u64,
        action: &str,
        label: Option<&str>,
        sender: &str,
    ) -> Value {
        let s = self.state();
        let i = s.issues.get(&n).expect("no such PR in the fake");
        let mut v = json!({
            "action": action,
            "number": n,
            "pull_request": s.pull_json(i),
            "repository": s.repo_json(),
            "sender": State::user(sender),
        });
        if let Some(l) = label {
            v["label"] = json!({"name": l});
        }
        v
    }

    /// A dump of the state (refs, releases, issues with labels and comments, deployments
    /// with their statuses' states, pending decisions) for comparing two runs; ids and times
    /// left out.
    pub fn snapshot(&self) -> Value {
        let s = self.state();
        let deployments: Vec<Value> = s
            .deployments
            .iter()
            .map(|d| {
                let id = d["id"].as_u64().unwrap_or_default();
                json!({
                    "environment": d["environment"], "sha": d["sha"], "payload": payload(d),
                    "statuses": s.statuses.get(&id).into_iter().flatten()
                        .map(|st| json!([st["state"], st["environment_url"], st["description"]]))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let issues: Vec<Value> = s
            .issues
            .values()
            .map(|i| {
                json!({
                    "number": i.number, "state": i.state, "labels": i.labels,
                    "comments": s.comments.iter().filter(|c| c["issue_number"] == json!(i.number))
                        .map(|c| c["body"].clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "refs": s.refs,
            "releases": s.releases.iter().map(|r| json!([r["tag_name"], r["name"], r["draft"], r["prerelease"], r["body"]])).collect::<Vec<_>>(),
            "issues": issues,
            "deployments": deployments,
            "decisions": s.decisions.iter().map(|(r, b)| json!([r, b])).collect::<Vec<_>>(),
        })
    }
}

fn payload(d: &Value) -> Value {
    match &d["payload"] {
        Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
        v => v.clone(),
    }
}

fn create_deployment(s: &mut State, body: &Value, creator: &str) -> Result<Value, String> {
    let r = body["ref"].as_str().ok_or("ref missing")?;
    let sha = s
        .resolve(r)
        .ok_or_else(|| format!("No ref found for: {r}"))?;
    let env = body["environment"]
        .as_str()
        .unwrap_or("production")
        .to_owned();
    let id = s.id();
    let d = json!({
        "id": id,
        "sha": sha,
        "ref": r,
        "task": body["task"].as_str().unwrap_or("deploy"),
        "environment": env,
        "original_environment": env,
        "payload": if body["payload"].is_null() { json!({}) } else { body["payload"].clone() },
        "description": body["description"].as_str().unwrap_or(""),
        "transient_environment": body["transient_environment"].as_bool().unwrap_or(false),
        "production_environment": body["production_environment"].as_bool().unwrap_or(env == "production"),
        "creator": State::user(creator),
        "created_at": s.now(),
        "updated_at": s.now(),
    });
    s.environments.insert(env);
    s.deployments.push(d.clone());
    Ok(d)
}

fn create_status(s: &mut State, id: u64, body: &Value, creator: &str) -> Option<Value> {
    let dep = s.deployments.iter().find(|d| d["id"] == json!(id))?.clone();
    let state = body["state"].as_str().unwrap_or("").to_owned();
    let sid = s.id();
    let st = json!({
        "id": sid,
        "state": state,
        "description": body["description"].as_str().unwrap_or(""),
        "environment": dep["environment"],
        // GitHub answers "" for a URL never given.
        "environment_url": body["environment_url"].as_str().unwrap_or(""),
        "log_url": body["log_url"].as_str().unwrap_or(""),
        "target_url": body["log_url"].as_str().or(body["target_url"].as_str()).unwrap_or(""),
        "creator": State::user(creator),
        "created_at": s.now(),
        "updated_at": s.now(),
    });
    s.statuses.entry(id).or_default().push(st.clone());
    // GitHub: a `success` status with auto_inactive (default true) adds an `inactive` status
    // to every prior non-transient, non-production deployment of the same environment that
    // had a `success` state.
    if state == "success" && body["auto_inactive"].as_bool().unwrap_or(true) {
        let prior: Vec<u64> = s
            .deployments
            .iter()
            .filter(|d| {
                d["environment"] == dep["environment"]
                    && d["id"].as_u64() < Some(id)
                    && d["transient_environment"] != json!(true)
                    && d["production_environment"] != json!(true)
            })
            .filter_map(|d| d["id"].as_u64())
            .collect();
        for p in prior {
            let had_success = s
                .statuses
                .get(&p)
                .is_some_and(|v| v.iter().any(|x| x["state"] == "success"));
            let latest_inactive = s.latest_status(p).is_some_and(|x| x["state"] == "inactive");
            if had_success && !latest_inactive {
                let sid = s.id();
                let at = s.now();
                s.statuses.entry(p).or_default().push(json!({
                    "id": sid, "state": "inactive", "description": "", "environment": dep["environment"],
                    "environment_url": "", "log_url": "", "target_url": "",
                    "creator": State::user(creator), "created_at": at, "updated_at": at,
                }));
            }
        }
    }
    Some(st)
}

struct Responder {
    state: Arc<Mutex<State>>,
    base: String,
}

/// An answer before pagination: status and body.
struct Answer {
    status: u16,
    body: Value,
}

fn ok(body: Value) -> Answer {
    Answer { status: 200, body }
}

fn created(body: Value) -> Answer {
    Answer { status: 201, body }
}

fn err(status: u16, message: &str) -> Answer {
    Answer {
        status,
        body: json!({"message": message, "documentation_url": "https://docs.github.com/rest"}),
    }
}

impl Respond for Responder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let seen = Seen::of(req);
        let mut s = self.state.lock().expect("fake state");
        // A deployment status POST: its state, for the faults and delays armed by state.
        let status_post = (req.method.as_str() == "POST"
            && req.url.path().ends_with("/statuses")
            && req.url.path().contains("/deployments/"))
        .then(|| {
            body_of(req)["state"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
        let fault = if seen.is_write() {
            s.write_count += 1;
            let n = s.write_count;
            let by_state = status_post.as_ref().and_then(|state| {
                let i = s
                    .status_faults
                    .iter()
                    .position(|(st, _)| st.as_deref().is_none_or(|st| st == state))?;
                s.status_faults.remove(i).map(|(_, f)| f)
            });
            s.faults.remove(&n).or(by_state)
        } else {
            None
        };
        let delay = status_post.and_then(|state| s.status_delays.get(&state).copied());
        if fault == Some(Fault::Before) {
            return ResponseTemplate::new(502).set_body_string("fake: injected 502 (not applied)");
        }
        if seen.is_write() {
            s.clock += 1;
        }
        let query: BTreeMap<String, String> = req.url.query_pairs().into_owned().collect();
        let answer = route(&mut s, req, &query, &seen);
        if answer.status == 404 && answer.body["message"] == "fake: no route" {
            s.unrouted.push(seen);
        }
        if fault == Some(Fault::After) {
            return ResponseTemplate::new(502).set_body_string("fake: injected 502 (applied)");
        }
        drop(s);
        let t = self.paginate(req, &query, answer);
        match delay {
            Some(d) => t.set_delay(d),
            None => t,
        }
    }
}

impl Responder {
    fn paginate(
        &self,
        req: &Request,
        query: &BTreeMap<String, String>,
        a: Answer,
    ) -> ResponseTemplate {
        let Some(items) = a.body.as_array().filter(|_| req.method.as_str() == "GET") else {
            return ResponseTemplate::new(a.status).set_body_json(a.body);
        };
        let per: usize = query
            .get("per_page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(30)
            .clamp(1, 100);
        let page: usize = query
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        let slice: Vec<Value> = items
            .iter()
            .skip((page - 1) * per)
            .take(per)
            .cloned()
            .collect();
        let mut t = ResponseTemplate::new(a.status).set_body_json(Value::Array(slice));
        if items.len() > page * per {
            let mut q: Vec<(String, String)> = query
                .iter()
                .filter(|(k, _)| k.as_str() != "page")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            q.push(("page".into(), (page + 1).to_string()));
            let qs: Vec<String> = q
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect();
            t = t.insert_header(
                "link",
                format!(
                    "<{}{}?{}>; rel=\"next\"",
                    self.base,
                    req.url.path(),
                    qs.join("&")
                )
                .as_str(),
            );
        }
        t
    }
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn same_id(v: &Value, id: &str) -> bool {
    v.as_u64().is_some() && id.parse::<u64>().ok() == v.as_u64()
}

fn body_of(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap_or(Value::Null)
}

fn route(s: &mut State, req: &Request, q: &BTreeMap<String, String>, seen: &Seen) -> Answer {
    let method = req.method.as_str().to_owned();
    let path = req.url.path().to_owned();
    let body = body_of(req);
    match (method.as_str(), path.as_str()) {
        ("GET", "/user") => return ok(State::user(FAKE_LOGIN)),
        ("GET", "/rate_limit") => {
            return ok(
                json!({"resources": {"core": {"limit": 5000, "remaining": 4999, "reset": 0, "used": 1}}}),
            );
        }
        _ => {}
    }
    let prefix = format!("/repos/{}/", s.full_name);
    let Some(rest) = path.strip_prefix(&prefix) else {
        return err(404, "fake: no route");
    };
    let segs: Vec<String> = rest.split('/').map(decode).collect();
    let seg: Vec<&str> = segs.iter().map(String::as_str).collect();
    let _ = seen;
    match (method.as_str(), seg.as_slice()) {
        // ---- permissions
        ("GET", ["collaborators", user, "permission"]) => match s.permissions.get(*user) {
            Some(level) => ok(json!({
                "permission": match level.as_str() { "maintain" | "triage" => if level == "maintain" { "write" } else { "read" }, l => l },
                "role_name": level,
                "user": {"login": user, "permissions": {
                    "admin": level == "admin",
                    "maintain": matches!(level.as_str(), "admin" | "maintain"),
                    "push": matches!(level.as_str(), "admin" | "maintain" | "write"),
                    "triage": matches!(level.as_str(), "admin" | "maintain" | "write" | "triage"),
                    "pull": true,
                }},
            })),
            None => err(404, &format!("{user} is not a user")),
        },
        // ---- refs and tags
        ("GET", ["git", "ref", r @ ..]) => {
            let r = r.join("/");
            match s.refs.get(&r) {
                Some(sha) => {
                    let kind = if s.tags.contains_key(sha) {
                        "tag"
                    } else {
                        "commit"
                    };
                    ok(json!({"ref": format!("refs/{r}"), "object": {"sha": sha, "type": kind}}))
                }
                None => err(404, "Not Found"),
            }
        }
        ("GET", ["git", "matching-refs", r @ ..]) => {
            let p = r.join("/");
            ok(Value::Array(
                s.refs
                    .iter()
                    .filter(|(k, _)| k.starts_with(&p))
                    .map(|(k, sha)| {
                        let kind = if s.tags.contains_key(sha) {
                            "tag"
                        } else {
                            "commit"
                        };
                        json!({"ref": format!("refs/{k}"), "object": {"sha": sha, "type": kind}})
                    })
                    .collect(),
            ))
        }
        ("POST", ["git", "refs"]) => {
            let r = body["ref"]
                .as_str()
                .unwrap_or("")
                .trim_start_matches("refs/")
                .to_owned();
            let sha = body["sha"].as_str().unwrap_or("").to_owned();
            if s.refs.contains_key(&r) {
                return err(422, "Reference already exists");
            }
            if !s.commits.contains_key(&sha) && !s.tags.contains_key(&sha) {
                return err(422, "Object does not exist");
            }
            s.refs.insert(r.clone(), sha.clone());
            created(json!({"ref": format!("refs/{r}"), "object": {"sha": sha, "type": "commit"}}))
        }
        ("PATCH", ["git", "refs", r @ ..]) => {
            let r = r.join("/");
            let sha = body["sha"].as_str().unwrap_or("").to_owned();
            let Some(old) = s.refs.get(&r).cloned() else {
                return err(422, "Reference does not exist");
            };
            let force = body["force"].as_bool().unwrap_or(false);
            if !force && !s.ancestors(&sha).contains(&old) {
                return err(422, "Update is not a fast forward");
            }
            s.refs.insert(r.clone(), sha.clone());
            ok(json!({"ref": format!("refs/{r}"), "object": {"sha": sha, "type": "commit"}}))
        }
        ("DELETE", ["git", "refs", r @ ..]) => {
            let r = r.join("/");
            match s.refs.remove(&r) {
                Some(_) => Answer {
                    status: 204,
                    body: Value::Null,
                },
                None => err(422, "Reference does not exist"),
            }
        }
        ("GET", ["git", "tags", sha]) => match s.tags.get(*sha) {
            Some(t) => ok(t.clone()),
            None => err(404, "Not Found"),
        },
        ("POST", ["git", "tags"]) => {
            let id = s.id();
            let sha = fake_sha(id | (1 << 40));
            let t = json!({
                "sha": sha, "tag": body["tag"], "message": body["message"],
                "object": {"sha": body["object"], "type": body["type"].as_str().unwrap_or("commit")},
                "tagger": {"name": FAKE_LOGIN, "date": s.now()},
            });
            s.tags.insert(sha, t.clone());
            created(t)
        }
        // ---- commits
        ("GET", ["commits", r]) => match s.resolve(r).filter(|c| s.commits.contains_key(c)) {
            Some(sha) => ok(s.commit_json(&sha)),
            None => err(422, &format!("No commit found for SHA: {r}")),
        },
        ("GET", ["compare", spec @ ..]) => {
            // Branch names hold slashes (`main...release/1.4.0`), as GitHub accepts them.
            let spec = spec.join("/");
            let Some((b, h)) = spec.split_once("...") else {
                return err(404, "Not Found");
            };
            let (Some(b), Some(h)) = (s.resolve(b), s.resolve(h)) else {
                return err(404, "Not Found");
            };
            let base = s.ancestors(&b);
            let head = s.ancestors(&h);
            let mut ahead: Vec<&String> = head.difference(&base).collect();
            ahead.sort_by_key(|c| {
                s.commits
                    .get(*c)
                    .map(|v| v["date"].as_str().unwrap_or("").to_owned())
            });
            let behind = base.difference(&head).count();
            let status = match (ahead.is_empty(), behind == 0) {
                (true, true) => "identical",
                (false, true) => "ahead",
                (true, false) => "behind",
                (false, false) => "diverged",
            };
            let commits: Vec<Value> = ahead
                .iter()
                .filter(|c| s.commits.contains_key(**c))
                .map(|c| s.commit_json(c))
                .collect();
            ok(
                json!({"status": status, "ahead_by": commits.len(), "behind_by": behind, "total_commits": commits.len(), "commits": commits, "files": []}),
            )
        }
        // ---- releases
        ("GET", ["releases"]) => ok(Value::Array(s.releases.iter().rev().cloned().collect())),
        ("GET", ["releases", "tags", tag]) => match s
            .releases
            .iter()
            .find(|r| r["tag_name"] == json!(tag) && r["draft"] != json!(true))
        {
            Some(r) => ok(r.clone()),
            None => err(404, "Not Found"),
        },
        ("POST", ["releases"]) => {
            let tag = body["tag_name"].as_str().unwrap_or("").to_owned();
            if s.releases
                .iter()
                .any(|r| r["tag_name"] == json!(tag) && r["draft"] != json!(true))
            {
                return err(422, "Validation Failed: tag_name already_exists");
            }
            let id = s.id();
            let draft = body["draft"].as_bool().unwrap_or(false);
            let r = json!({
                "id": id, "tag_name": tag, "name": body["name"].as_str().unwrap_or(&tag),
                "body": body["body"].as_str().unwrap_or(""),
                "target_commitish": body["target_commitish"].as_str().unwrap_or("main"),
                "draft": draft, "prerelease": body["prerelease"].as_bool().unwrap_or(false),
                "created_at": s.now(), "published_at": if draft { Value::Null } else { json!(s.now()) },
                "author": State::user(FAKE_LOGIN),
                "html_url": format!("https://github.com/{}/releases/tag/{tag}", s.full_name),
            });
            if !draft && !s.refs.contains_key(&format!("tags/{tag}")) {
                let target = r["target_commitish"].as_str().unwrap_or("main").to_owned();
                if let Some(sha) = s.resolve(&target) {
                    s.refs.insert(format!("tags/{tag}"), sha);
                }
            }
            s.releases.push(r.clone());
            created(r)
        }
        ("PATCH", ["releases", id]) => {
            let now = s.now();
            let Some(pos) = s.releases.iter().position(|r| same_id(&r["id"], id)) else {
                return err(404, "Not Found");
            };
            for k in [
                "tag_name",
                "name",
                "body",
                "target_commitish",
                "draft",
                "prerelease",
            ] {
                if !body[k].is_null() {
                    s.releases[pos][k] = body[k].clone();
                }
            }
            let r = s.releases[pos].clone();
            if r["draft"] == json!(false) && r["published_at"].is_null() {
                s.releases[pos]["published_at"] = json!(now);
                let tag = r["tag_name"].as_str().unwrap_or("").to_owned();
                let target = r["target_commitish"].as_str().unwrap_or("main").to_owned();
                if !s.refs.contains_key(&format!("tags/{tag}"))
                    && let Some(sha) = s.resolve(&target)
                {
                    s.refs.insert(format!("tags/{tag}"), sha);
                }
            }
            ok(s.releases[pos].clone())
        }
        ("DELETE", ["releases", id]) => {
            let before = s.releases.len();
            s.releases.retain(|r| !same_id(&r["id"], id));
            if s.releases.len() == before {
                err(404, "Not Found")
            } else {
                Answer {
                    status: 204,
                    body: Value::Null,
                }
            }
        }
        // ---- pulls
        ("GET", ["pulls"]) => {
            let state = q.get("state").map_or("open", String::as_str);
            let head = q
                .get("head")
                .map(|h| h.split_once(':').map_or(h.as_str(), |(_, b)| b).to_owned());
            let base = q.get("base");
            let v: Vec<Value> = s
                .issues
                .values()
                .rev()
                .filter(|i| {
                    let Some(p) = &i.pull else { return false };
                    (state == "all" || i.state == state)
                        && head.as_ref().is_none_or(|h| &p.head == h)
                        && base.is_none_or(|b| &p.base == b)
                })
                .map(|i| s.pull_json(i))
                .collect();
            ok(Value::Array(v))
        }
        ("GET", ["pulls", n]) => match n
            .parse::<u64>()
            .ok()
            .and_then(|n| s.issues.get(&n))
            .filter(|i| i.pull.is_some())
        {
            Some(i) => ok(s.pull_json(i)),
            None => err(404, "Not Found"),
        },
        ("POST", ["pulls"]) => {
            let head = body["head"].as_str().unwrap_or("").to_owned();
            let head = head
                .split_once(':')
                .map_or(head.clone(), |(_, b)| b.to_owned());
            let base = body["base"].as_str().unwrap_or("main").to_owned();
            if s.issues.values().any(|i| {
                i.state == "open"
                    && i.pull
                        .as_ref()
                        .is_some_and(|p| p.head == head && p.base == base)
            }) {
                return err(422, &format!("A pull request already exists for {head}."));
            }
            let Some(head_sha) = s.resolve(&head) else {
                return err(422, "Validation Failed: head invalid");
            };
            let n = s.issues.keys().max().copied().unwrap_or(0).max(s.next_id) + 1;
            s.next_id = n;
            let i = Issue {
                number: n,
                user: FAKE_LOGIN.into(),
                state: "open".into(),
                title: body["title"].as_str().unwrap_or("").to_owned(),
                body: body["body"].as_str().unwrap_or("").to_owned(),
                pull: Some(Pull {
                    head,
                    head_sha,
                    base,
                    draft: body["draft"].as_bool().unwrap_or(false),
                    merged: false,
                }),
                ..Issue::default()
            };
            let v = s.pull_json(&i);
            s.issues.insert(n, i);
            created(v)
        }
        ("PATCH", ["pulls", n]) => {
            let Some(n) = n.parse::<u64>().ok().filter(|n| s.issues.contains_key(n)) else {
                return err(404, "Not Found");
            };
            let mut closed = None;
            if let Some(i) = s.issues.get_mut(&n) {
                if let Some(t) = body["title"].as_str() {
                    i.title = t.to_owned();
                }
                if let Some(b) = body["body"].as_str() {
                    i.body = b.to_owned();
                }
                if let Some(st) = body["state"].as_str()
                    && st != i.state
                {
                    i.state = st.to_owned();
                    closed = Some(st == "closed");
                }
            }
            if let Some(c) = closed {
                s.add_event(n, if c { "closed" } else { "reopened" }, FAKE_LOGIN, None);
            }
            let i = s.issues[&n].clone();
            ok(s.pull_json(&i))
        }
        // ---- issues, labels, events, comments
        ("GET", ["issues"]) => {
            let state = q.get("state").map_or("open", String::as_str);
            let want: Vec<&str> = q
                .get("labels")
                .map(|l| l.split(',').collect())
                .unwrap_or_default();
            let v: Vec<Value> = s
                .issues
                .values()
                .rev()
                .filter(|i| {
                    (state == "all" || i.state == state)
                        && want.iter().all(|w| i.labels.iter().any(|l| l == w))
                })
                .map(|i| s.issue_json(i))
                .collect();
            ok(Value::Array(v))
        }
        ("GET", ["issues", n, "labels"]) => {
            match n.parse::<u64>().ok().and_then(|n| s.issues.get(&n)) {
                Some(i) => ok(Value::Array(
                    i.labels.iter().map(|l| json!({"name": l})).collect(),
                )),
                None => err(404, "Not Found"),
            }
        }
        ("POST", ["issues", n, "labels"]) => {
            let Some(n) = n.parse::<u64>().ok().filter(|n| s.issues.contains_key(n)) else {
                return err(404, "Not Found");
            };
            let labels: Vec<String> = body["labels"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|l| l.as_str().map(str::to_owned))
                .collect();
            for l in labels {
                s.add_label(n, &l, FAKE_LOGIN);
            }
            ok(Value::Array(
                s.issues[&n]
                    .labels
                    .iter()
                    .map(|l| json!({"name": l}))
                    .collect(),
            ))
        }
        ("DELETE", ["issues", n, "labels", label]) => {
            let n = n.parse::<u64>().unwrap_or(0);
            if s.remove_label(n, label, FAKE_LOGIN) {
                ok(Value::Array(
                    s.issues[&n]
                        .labels
                        .iter()
                        .map(|l| json!({"name": l}))
                        .collect(),
                ))
            } else {
                err(404, "Label does not exist")
            }
        }
        ("GET", ["issues", n, "events"]) => {
            match n.parse::<u64>().ok().and_then(|n| s.issues.get(&n)) {
                Some(i) => ok(Value::Array(i.events.clone())),
                None => err(404, "Not Found"),
            }
        }
        ("GET", ["issues", n, "comments"]) => {
            let n = n.parse::<u64>().unwrap_or(0);
            ok(Value::Array(
                s.comments
                    .iter()
                    .filter(|c| c["issue_number"] == json!(n))
                    .cloned()
                    .collect(),
            ))
        }
        ("POST", ["issues", n, "comments"]) => {
            let Some(n) = n.parse::<u64>().ok().filter(|n| s.issues.contains_key(n)) else {
                return err(404, "Not Found");
            };
            let id = s.id();
            let c = json!({"id": id, "issue_number": n, "body": body["body"], "user": State::user(FAKE_LOGIN), "created_at": s.now()});
            s.comments.push(c.clone());
            created(c)
        }
        ("PATCH", ["issues", "comments", id]) => {
            match s.comments.iter_mut().find(|c| same_id(&c["id"], id)) {
                Some(c) => {
                    c["body"] = body["body"].clone();
                    ok(c.clone())
                }
                None => err(404, "Not Found"),
            }
        }
        ("DELETE", ["issues", "comments", id]) => {
            let before = s.comments.len();
            s.comments.retain(|c| !same_id(&c["id"], id));
            if s.comments.len() == before {
                err(404, "Not Found")
            } else {
                Answer {
                    status: 204,
                    body: Value::Null,
                }
            }
        }
        // ---- deployments and environments
        ("GET", ["deployments"]) => {
            let v: Vec<Value> = s
                .deployments
                .iter()
                .rev()
                .filter(|d| {
                    q.get("environment")
                        .is_none_or(|e| d["environment"] == json!(e))
                        && q.get("sha").is_none_or(|x| d["sha"] == json!(x))
                        && q.get("ref").is_none_or(|x| d["ref"] == json!(x))
                        && q.get("task").is_none_or(|x| d["task"] == json!(x))
                })
                .cloned()
                .collect();
            ok(Value::Array(v))
        }
        ("GET", ["deployments", id]) => {
            match s.deployments.iter().find(|d| same_id(&d["id"], id)) {
                Some(d) => ok(d.clone()),
                None => err(404, "Not Found"),
            }
        }
        ("POST", ["deployments"]) => match create_deployment(s, &body, FAKE_LOGIN) {
            Ok(d) => created(d),
            Err(m) => err(422, &m),
        },
        ("GET", ["deployments", id, "statuses"]) => {
            let id = id.parse::<u64>().unwrap_or(0);
            if !s.deployments.iter().any(|d| d["id"] == json!(id)) {
                return err(404, "Not Found");
            }
            if q.get("per_page").is_some_and(|p| p == "1")
                && let Some(n) = s.stale_latest.get_mut(&id)
                && *n > 0
            {
                *n -= 1;
                return ok(json!([]));
            }
            ok(Value::Array(
                s.statuses
                    .get(&id)
                    .into_iter()
                    .flatten()
                    .rev()
                    .cloned()
                    .collect(),
            ))
        }
        ("POST", ["deployments", id, "statuses"]) => {
            let id = id.parse::<u64>().unwrap_or(0);
            match create_status(s, id, &body, FAKE_LOGIN) {
                Some(st) => created(st),
                None => err(404, "Not Found"),
            }
        }
        ("GET", ["environments"]) => {
            let envs: Vec<Value> = s
                .environments
                .iter()
                .enumerate()
                .map(|(i, e)| json!({"id": i + 1, "name": e}))
                .collect();
            ok(json!({"total_count": envs.len(), "environments": envs}))
        }
        // ---- workflow runs
        ("GET", ["actions", "runs", run]) => {
            match run.parse::<u64>().ok().and_then(|r| s.runs.get(&r)) {
                Some(r) => ok(r.clone()),
                None => err(404, "Not Found"),
            }
        }
        // ---- pending deployments
        ("GET", ["actions", "runs", run, "pending_deployments"]) => {
            let run = run.parse::<u64>().unwrap_or(0);
            ok(Value::Array(
                s.pending.get(&run).cloned().unwrap_or_default(),
            ))
        }
        ("POST", ["actions", "runs", run, "pending_deployments"]) => {
            let run = run.parse::<u64>().unwrap_or(0);
            let ids: Vec<Value> = body["environment_ids"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let Some(p) = s.pending.get_mut(&run) else {
                return err(422, "No pending deployments");
            };
            let before = p.len();
            p.retain(|x| !ids.contains(&x["environment"]["id"]));
            if p.len() == before {
                return err(422, "No pending deployments for these environments");
            }
            s.decisions.push((run, body.clone()));
            ok(json!([]))
        }
        _ => err(404, "fake: no route"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(time_at(0), "2026-01-01T00:00:00Z");
        assert_eq!(time_at(86_400 * 31 + 3661), "2026-02-01T01:01:01Z");
        assert_eq!(time_at(86_400 * 365), "2027-01-01T00:00:00Z");
    }

    #[test]
    fn decodes_segments() {
        assert_eq!(decode("deploy%2Fqa1"), "deploy/qa1");
        assert_eq!(decode("a%"), "a%");
    }
}
