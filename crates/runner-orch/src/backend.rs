//! Where runners run: a Kubernetes Job per runner (the JIT config in a Secret owned by the Job),
//! or a local process. Both are keyed by the deterministic runner name, so a second launch of
//! the same name is "already exists", never a second runner.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
#[cfg(feature = "kubernetes")]
use gh_core::retry::{Backoff, Pacer};
#[cfg(feature = "kubernetes")]
use k8s_openapi::api::batch::v1::Job;
#[cfg(feature = "kubernetes")]
use k8s_openapi::api::core::v1::Secret;
#[cfg(feature = "kubernetes")]
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, PostParams};
use serde_json::{Value, json};

use crate::config::{BackendKind, DockerMode, PoolConfig};
use crate::error::{OrchError, Result};
use crate::naming;

/// `app.kubernetes.io/managed-by` value on everything ghops creates.
pub const MANAGED_BY: &str = "ghops-runner-orch";
/// Label: pool name.
pub const POOL_LABEL: &str = "ghops.dev/pool";
/// Label: repository hash (see [`naming::repo_hash`]).
pub const REPO_LABEL: &str = "ghops.dev/repo-hash";
/// Label: GitHub job id (absent on warm runners).
pub const JOB_LABEL: &str = "ghops.dev/job-id";
/// Label: run attempt.
pub const ATTEMPT_LABEL: &str = "ghops.dev/run-attempt";
/// Annotation: `owner/name`.
pub const REPO_ANNOTATION: &str = "ghops.dev/repository";
pub use crate::naming::JIT_ENV;
/// The key of the JIT config in the Secret.
pub const JIT_KEY: &str = "jitconfig";
/// The uid (and gid) runner pods run as: the `runner` user of GitHub's actions-runner image.
pub const RUNNER_UID: i64 = 1001;

/// What to launch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchSpec {
    /// Runner, Job and Secret name.
    pub name: String,
    /// `owner/name` of the job's repository (warm runners: the pool's first repository).
    pub repo: String,
    /// The GitHub job id (`None` for a warm runner).
    pub job_id: Option<u64>,
    /// Run attempt.
    pub attempt: u64,
}

/// A runner the backend holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Live {
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created: Option<DateTime<Utc>>,
    /// Finished (Job succeeded or failed, process exited): no longer counts against `max`.
    pub finished: bool,
}

/// What a launch came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launched {
    /// Created now.
    Created,
    /// Something of that name already exists: the launch already happened.
    AlreadyExists,
    /// `--dry-run`: reported, not created.
    DryRun,
}

/// The backends of all pools: each pool uses the one its `backend` setting names.
#[derive(Default)]
pub struct Backend {
    kube: Option<KubeBackend>,
    process: ProcessBackend,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("kubernetes", &self.kube.is_some())
            .finish()
    }
}

enum Which<'a> {
    Kube(&'a KubeBackend),
    Process(&'a ProcessBackend),
}

impl Backend {
    /// Kubernetes (for `kubernetes` pools) and local processes (for `process` pools).
    pub fn new(kube: Option<KubeBackend>, process: ProcessBackend) -> Self {
        Self { kube, process }
    }

    /// Kubernetes only (a `process` pool still gets a local process backend).
    pub fn kubernetes(kube: KubeBackend) -> Self {
        Self::new(Some(kube), ProcessBackend::default())
    }

    /// The local process backend.
    pub fn process(&self) -> &ProcessBackend {
        &self.process
    }

    /// The Kubernetes backend, if configured.
    pub fn kube(&self) -> Option<&KubeBackend> {
        self.kube.as_ref()
    }

    fn pick(&self, pool: &PoolConfig) -> Result<Which<'_>> {
        match pool.backend {
            BackendKind::Kubernetes => self.kube.as_ref().map(Which::Kube).ok_or_else(|| {
                OrchError::config(
                    format!("pools.{}.backend", pool.name),
                    "kubernetes, but no Kubernetes client is configured",
                )
            }),
            BackendKind::Process => Ok(Which::Process(&self.process)),
        }
    }

    /// Is there a runner called `name` (running or finished)?
    pub async fn get(&self, pool: &PoolConfig, name: &str) -> Result<Option<Live>> {
        match self.pick(pool)? {
            Which::Kube(k) => k.get(pool, name).await,
            Which::Process(p) => Ok(p.get(name)),
        }
    }

    /// Every runner of `pool`.
    pub async fn list(&self, pool: &PoolConfig) -> Result<Vec<Live>> {
        match self.pick(pool)? {
            Which::Kube(k) => k.list(pool).await,
            Which::Process(p) => Ok(p.list(&pool.name)),
        }
    }

    /// Starts a runner with the JIT config.
    pub async fn launch(
        &self,
        pool: &PoolConfig,
        spec: &LaunchSpec,
        jit: &str,
    ) -> Result<Launched> {
        match self.pick(pool)? {
            Which::Kube(k) => k.launch(pool, spec, jit).await,
            Which::Process(p) => p.launch(pool, spec, jit),
        }
    }

    /// Ends every local runner this process started (see [`ProcessBackend::shutdown`]);
    /// Kubernetes Jobs are left running (they do not depend on ghops).
    pub async fn shutdown(&self) {
        self.process.shutdown().await;
    }

    /// Removes a runner (404 counts as done).
    pub async fn delete(&self, pool: &PoolConfig, name: &str) -> Result<()> {
        match self.pick(pool)? {
            Which::Kube(k) => k.delete(pool, name).await,
            Which::Process(p) => p.delete(name),
        }
    }
}

/// Merges `patch` into `target`: a JSON merge patch (RFC 7386: objects merge, `null` removes,
/// anything else replaces), except that two lists whose items are all objects with a string
/// `name` merge item by item on `name` (new names appended), as Kubernetes merges containers,
/// env, volumes and mounts.
pub fn merge(target: &mut Value, patch: &Value) {
    fn named(v: &[Value]) -> bool {
        v.iter()
            .all(|i| i.get("name").is_some_and(Value::is_string))
    }
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (Value::Array(t), Value::Array(p)) if !t.is_empty() && named(t) && named(p) => {
            for item in p {
                match t.iter_mut().find(|x| x.get("name") == item.get("name")) {
                    Some(existing) => merge(existing, item),
                    None => t.push(item.clone()),
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// The Job manifest of a runner: `backoffLimit: 0`, `ttlSecondsAfterFinished`,
/// `activeDeadlineSeconds`, labels for pool, repository and job; the pod reads the JIT config
/// from the Secret of the same name, and nothing else secret (no service account token); it
/// meets Pod Security "restricted" (non-root uid [`RUNNER_UID`], no privilege escalation, all
/// capabilities dropped, seccomp `RuntimeDefault`).
pub fn job_manifest(pool: &PoolConfig, spec: &LaunchSpec, overlay: Option<&Value>) -> Value {
    let k = &pool.kubernetes;
    let mut labels = BTreeMap::new();
    labels.insert(
        "app.kubernetes.io/managed-by".to_owned(),
        MANAGED_BY.to_owned(),
    );
    labels.insert(POOL_LABEL.to_owned(), pool.name.clone());
    labels.insert(REPO_LABEL.to_owned(), naming::repo_hash(&spec.repo));
    if let Some(id) = spec.job_id {
        labels.insert(JOB_LABEL.to_owned(), id.to_string());
        labels.insert(ATTEMPT_LABEL.to_owned(), spec.attempt.to_string());
    }
    let mut container = json!({
        "name": "runner",
        "image": k.image,
        "command": k.command,
        "env": [{
            "name": JIT_ENV,
            "valueFrom": { "secretKeyRef": { "name": spec.name, "key": JIT_KEY } },
        }],
        // Pod Security "restricted": job code gets no root, no new privileges, no
        // capabilities (a pod_template may relax this, e.g. for a Docker-in-Docker sidecar).
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": { "drop": ["ALL"] },
        },
    });
    if !k.resources.is_empty() {
        container["resources"] = json!(k.resources);
    }
    let mut pod = json!({
        "restartPolicy": "Never",
        "automountServiceAccountToken": false,
        // The actions-runner image's `runner` user (1001): runAsNonRoot needs a numeric id.
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": RUNNER_UID,
            "runAsGroup": RUNNER_UID,
            "fsGroup": RUNNER_UID,
            "seccompProfile": { "type": "RuntimeDefault" },
        },
        "containers": [container],
    });
    if k.docker == DockerMode::Dind {
        add_dind(&mut pod, &k.image, &k.dind_image);
    }
    if let Some(sa) = &k.service_account {
        pod["serviceAccountName"] = json!(sa);
    }
    if !k.node_selector.is_empty() {
        pod["nodeSelector"] = json!(k.node_selector);
    }
    if let Some(o) = overlay {
        merge(&mut pod, o);
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": spec.name,
            "namespace": k.namespace,
            "labels": labels,
            "annotations": { REPO_ANNOTATION: spec.repo },
        },
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": k.ttl_seconds_after_finished,
            "activeDeadlineSeconds": k.active_deadline_seconds,
            "template": {
                "metadata": { "labels": labels },
                "spec": pod,
            },
        },
    })
}

/// The gid of the `docker` group in GitHub's actions-runner image: the socket's group, and a
/// supplementary group of the runner.
pub const DOCKER_GID: i64 = 123;
/// Where the Docker socket is, in the runner and in the sidecar.
pub const DOCKER_SOCK: &str = "/var/run/docker.sock";

/// Docker-in-Docker ([`DockerMode::Dind`]): a native sidecar running `dockerd` privileged,
/// its socket in an `emptyDir` shared with the runner (`DOCKER_HOST`), the runner's work
/// folder shared too (job containers bind-mount paths under it), and the runner image's
/// `externals` (the node binaries actions run with inside job containers) copied by an init
/// container to where the daemon sees them. The runner container keeps its restricted
/// security context.
fn add_dind(pod: &mut Value, runner_image: &str, dind_image: &str) {
    let restricted = json!({
        "allowPrivilegeEscalation": false,
        "capabilities": { "drop": ["ALL"] },
    });
    pod["initContainers"] = json!([
        {
            "name": "init-externals",
            "image": runner_image,
            "command": ["cp", "-r", "/home/runner/externals/.", "/home/runner/tmpDir/"],
            "volumeMounts": [{ "name": "dind-externals", "mountPath": "/home/runner/tmpDir" }],
            "securityContext": restricted,
        },
        {
            "name": "dind",
            "image": dind_image,
            // A native sidecar: started before the runner, stopped after it, and not
            // counted for the Job's completion.
            "restartPolicy": "Always",
            "args": [
                "dockerd",
                format!("--host=unix://{DOCKER_SOCK}"),
                format!("--group={DOCKER_GID}"),
            ],
            "securityContext": { "privileged": true, "runAsNonRoot": false, "runAsUser": 0, "runAsGroup": 0 },
            // The runner starts once the daemon answers.
            "startupProbe": {
                "exec": { "command": ["docker", "info"] },
                "periodSeconds": 1,
                "failureThreshold": 120,
            },
            "volumeMounts": [
                { "name": "work", "mountPath": "/home/runner/_work" },
                { "name": "dind-sock", "mountPath": "/var/run" },
                { "name": "dind-externals", "mountPath": "/home/runner/externals" },
            ],
        },
    ]);
    let runner = &mut pod["containers"][0];
    runner["env"]
        .as_array_mut()
        .expect("env list")
        .push(json!({ "name": "DOCKER_HOST", "value": format!("unix://{DOCKER_SOCK}") }));
    runner["volumeMounts"] = json!([
        { "name": "work", "mountPath": "/home/runner/_work" },
        { "name": "dind-sock", "mountPath": "/var/run" },
    ]);
    pod["securityContext"]["supplementalGroups"] = json!([DOCKER_GID]);
    pod["volumes"] = json!([
        { "name": "work", "emptyDir": {} },
        { "name": "dind-sock", "emptyDir": {} },
        { "name": "dind-externals", "emptyDir": {} },
    ]);
}

/// The Secret holding the JIT config, owned by the Job (`ownerReferences`) so it is garbage
/// collected with it.
pub fn secret_manifest(pool: &PoolConfig, name: &str, job_uid: &str, jit: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": pool.kubernetes.namespace,
            "labels": {
                "app.kubernetes.io/managed-by": MANAGED_BY,
                POOL_LABEL: pool.name,
            },
            "ownerReferences": [{
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": name,
                "uid": job_uid,
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "type": "Opaque",
        "stringData": { JIT_KEY: jit },
    })
}

/// Kubernetes Jobs through the `kube` client.
#[cfg(feature = "kubernetes")]
pub struct KubeBackend {
    client: kube::Client,
    dry_run: bool,
    /// Waits between attempts when Kubernetes refuses a Job with 403 (a quota may free up):
    /// 2 s, 8 s, 30 s, then the refusal is the answer.
    pub forbidden_backoff: Backoff,
    planned: Mutex<Vec<Value>>,
}

#[cfg(feature = "kubernetes")]
impl KubeBackend {
    /// Wraps a client. In `dry_run`, reads are made and creates/deletes reported instead.
    pub fn new(client: kube::Client, dry_run: bool) -> Self {
        Self {
            client,
            dry_run,
            forbidden_backoff: Backoff::exponential(Duration::from_secs(2), 4)
                .capped(Duration::from_secs(30))
                .at_most(3),
            planned: Mutex::new(Vec::new()),
        }
    }

    /// A client from the environment: in-cluster service account, else `$KUBECONFIG` /
    /// `~/.kube/config`.
    pub async fn infer(dry_run: bool) -> Result<Self> {
        let cfg = kube::Config::infer()
            .await
            .map_err(|e| OrchError::KubeConfig(e.to_string()))?;
        let client = kube::Client::try_from(cfg).map_err(|e| OrchError::from_kube("connect", e))?;
        Ok(Self::new(client, dry_run))
    }

    /// A client for an API server URL with no auth (tests, `kubectl proxy`).
    pub fn for_url(url: &str, dry_run: bool) -> Result<Self> {
        let uri: http::Uri = url.parse().map_err(|e| OrchError::Kube {
            action: format!("parse {url}"),
            message: format!("{e}"),
        })?;
        let client = kube::Client::try_from(kube::Config::new(uri))
            .map_err(|e| OrchError::from_kube("connect", e))?;
        Ok(Self::new(client, dry_run))
    }

    /// The Kubernetes client (for the leader-election Lease).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The manifests `--dry-run` reported instead of creating (JIT config redacted).
    pub fn planned(&self) -> Vec<Value> {
        self.planned.lock().expect("lock").clone()
    }

    // Jobs and Secrets go through kube's untyped `DynamicObject` (typed metadata, the rest
    // JSON): ghops builds them as JSON (`job_manifest`, `secret_manifest`) and reads three
    // status fields back, so decoding k8s-openapi's whole `Job` tree (`PodSpec`, `Volume`, ...:
    // the binary's largest deserialisers, issue 17) bought nothing. The API server validates
    // what it is sent (a malformed pod template is its 422, `OrchError::KubeInvalid`).
    fn jobs(&self, pool: &PoolConfig) -> Api<DynamicObject> {
        self.objects::<Job>(pool)
    }

    fn secrets(&self, pool: &PoolConfig) -> Api<DynamicObject> {
        self.objects::<Secret>(pool)
    }

    /// Objects of kind `K` (its API group, version and plural only) in the pool's namespace.
    fn objects<K: kube::Resource<DynamicType = ()>>(
        &self,
        pool: &PoolConfig,
    ) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &pool.kubernetes.namespace,
            &ApiResource::erase::<K>(&()),
        )
    }

    fn live(job: &DynamicObject) -> Live {
        let st = &job.data["status"];
        let count = |k: &str| st[k].as_i64().unwrap_or(0);
        let finished =
            count("succeeded") > 0 || count("failed") > 0 || !st["completionTime"].is_null();
        Live {
            name: job.metadata.name.clone().unwrap_or_default(),
            created: job
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| DateTime::<Utc>::from_timestamp(t.0.as_second(), 0).unwrap_or_default()),
            finished,
        }
    }

    async fn get(&self, pool: &PoolConfig, name: &str) -> Result<Option<Live>> {
        let j = self
            .jobs(pool)
            .get_opt(name)
            .await
            .map_err(|e| OrchError::from_kube(format!("get Job {name}"), e))?;
        Ok(j.as_ref().map(Self::live))
    }

    async fn list(&self, pool: &PoolConfig) -> Result<Vec<Live>> {
        let lp = ListParams::default().labels(&format!(
            "app.kubernetes.io/managed-by={MANAGED_BY},{POOL_LABEL}={}",
            pool.name
        ));
        let list = self
            .jobs(pool)
            .list(&lp)
            .await
            .map_err(|e| OrchError::from_kube(format!("list Jobs of pool {}", pool.name), e))?;
        Ok(list.items.iter().map(Self::live).collect())
    }

    async fn launch(&self, pool: &PoolConfig, spec: &LaunchSpec, jit: &str) -> Result<Launched> {
        let manifest = job_manifest(pool, spec, pool.kubernetes.pod_overlay.as_ref());
        let action = format!("create Job {}/{}", pool.kubernetes.namespace, spec.name);
        if self.dry_run {
            let secret = secret_manifest(pool, &spec.name, "<job uid>", "<redacted JIT config>");
            for m in [&manifest, &secret] {
                tracing::info!(
                    target: gh_core::output::DRY_RUN,
                    verb = "create",
                    manifest = %serde_json::to_string_pretty(m).unwrap_or_default(),
                    "would create"
                );
            }
            let mut p = self.planned.lock().expect("lock");
            p.push(manifest);
            p.push(secret);
            return Ok(Launched::DryRun);
        }
        let job: DynamicObject =
            serde_json::from_value(manifest).map_err(|e| OrchError::KubeInvalid {
                action: action.clone(),
                message: e.to_string(),
            })?;
        let mut waits = Pacer::new(self.forbidden_backoff, None);
        let created = loop {
            match self.jobs(pool).create(&PostParams::default(), &job).await {
                Ok(j) => break j,
                Err(kube::Error::Api(s)) if s.is_already_exists() => {
                    return Ok(Launched::AlreadyExists);
                }
                Err(kube::Error::Api(s)) if s.code == 403 => {
                    match waits.next_wait(Duration::ZERO) {
                        Some(w) => {
                            tracing::warn!(job = spec.name, wait_ms = w.as_millis() as u64, message = %s.message, "Kubernetes refused the Job; retrying");
                            tokio::time::sleep(w).await;
                        }
                        None => return Err(OrchError::from_kube(action, kube::Error::Api(s))),
                    }
                }
                Err(e) => return Err(OrchError::from_kube(action, e)),
            }
        };
        let uid = created.metadata.uid.clone().unwrap_or_default();
        let secret: DynamicObject =
            serde_json::from_value(secret_manifest(pool, &spec.name, &uid, jit)).map_err(|e| {
                OrchError::Kube {
                    action: "build Secret".into(),
                    message: e.to_string(),
                }
            })?;
        let saction = format!("create Secret {}/{}", pool.kubernetes.namespace, spec.name);
        for attempt in 0..2 {
            match self
                .secrets(pool)
                .create(&PostParams::default(), &secret)
                .await
            {
                Ok(_) => break,
                // A Secret left by an earlier attempt holds a stale JIT config: replace it.
                Err(kube::Error::Api(s)) if s.is_already_exists() && attempt == 0 => {
                    self.secrets(pool)
                        .delete(&spec.name, &DeleteParams::default())
                        .await
                        .map_err(|e| OrchError::from_kube(saction.clone(), e))?;
                }
                Err(e) => {
                    // Without its Secret the pod never starts: remove the Job.
                    let _ = self.delete(pool, &spec.name).await;
                    return Err(OrchError::from_kube(saction, e));
                }
            }
        }
        Ok(Launched::Created)
    }

    async fn delete(&self, pool: &PoolConfig, name: &str) -> Result<()> {
        if self.dry_run {
            tracing::info!(
                target: gh_core::output::DRY_RUN,
                verb = "delete",
                kind = "Job",
                namespace = %pool.kubernetes.namespace,
                name = %name,
                "would delete"
            );
            return Ok(());
        }
        match self
            .jobs(pool)
            .delete(name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.is_not_found() => Ok(()),
            Err(e) => Err(OrchError::from_kube(format!("delete Job {name}"), e)),
        }
    }
}

/// Built without the `kubernetes` feature: there is no Kubernetes client, so no value of this
/// type exists ([`crate::from_config`] refuses `kubernetes` pools) and only the process backend
/// runs.
#[cfg(not(feature = "kubernetes"))]
#[derive(Debug)]
pub enum KubeBackend {}

#[cfg(not(feature = "kubernetes"))]
impl KubeBackend {
    /// The manifests `--dry-run` reported instead of creating (never any: no value exists).
    pub fn planned(&self) -> Vec<Value> {
        match *self {}
    }

    async fn get(&self, _: &PoolConfig, _: &str) -> Result<Option<Live>> {
        match *self {}
    }

    async fn list(&self, _: &PoolConfig) -> Result<Vec<Live>> {
        match *self {}
    }

    async fn launch(&self, _: &PoolConfig, _: &LaunchSpec, _: &str) -> Result<Launched> {
        match *self {}
    }

    async fn delete(&self, _: &PoolConfig, _: &str) -> Result<()> {
        match *self {}
    }
}

struct Proc {
    pool: String,
    child: std::process::Child,
    created: DateTime<Utc>,
    /// When the runner's process was seen to have exited (its group was ended then).
    finished: Option<std::time::Instant>,
}

impl Proc {
    /// The runner's process group (it leads its own: see [`ProcessBackend`]).
    fn pgid(&self) -> nix::unistd::Pid {
        nix::unistd::Pid::from_raw(self.child.id() as i32)
    }

    /// True once the runner's own process exited. On the first sighting, whatever it left in
    /// its group (the listener `run.sh` started, a job's background processes) is killed
    /// while the exited process is still a zombie, so the group id cannot have been reused;
    /// then the zombie is reaped.
    fn poll_finished(&mut self) -> bool {
        use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
        if self.finished.is_some() {
            return true;
        }
        let exited = match waitid(
            Id::Pid(self.pgid()),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        ) {
            Ok(WaitStatus::StillAlive) => false,
            Ok(_) => true,
            // Already reaped (ECHILD): it is gone.
            Err(_) => true,
        };
        if exited {
            signal_runner_group(self.pgid(), nix::sys::signal::Signal::SIGKILL);
            let _ = self.child.try_wait();
            self.finished = Some(std::time::Instant::now());
        }
        exited
    }

    /// Kills the runner's whole process group and reaps the runner.
    fn kill(&mut self) {
        if self.finished.is_none() {
            signal_runner_group(self.pgid(), nix::sys::signal::Signal::SIGKILL);
            let _ = self.child.wait();
            self.finished = Some(std::time::Instant::now());
        }
    }
}

/// [`gh_core::signal::signal_group`], logging a failure (a group already gone is none).
fn signal_runner_group(pgid: nix::unistd::Pid, sig: nix::sys::signal::Signal) {
    if let Err(e) = gh_core::signal::signal_group(pgid, sig) {
        tracing::warn!(pgid = pgid.as_raw(), signal = %sig, error = %e, "cannot signal a runner's process group");
    }
}

/// Local processes: the pool's command with the JIT config in `ACTIONS_RUNNER_INPUT_JITCONFIG`
/// and a clean environment (only `PATH`, `HOME`, `LANG`, `TMPDIR`: no token is inherited), as
/// the pool's `process.user` when set (`HOME`, `USER`, `LOGNAME` then that user's).
///
/// Each runner leads a process group of its own, and everything it starts stays in it
/// (actions/runner's `run.sh` starts the listener as a child, which starts the job's
/// processes): deleting a runner (reaping, a cancelled job) kills the whole group, a runner
/// whose process exited has its group's leftovers killed, and [`ProcessBackend::shutdown`]
/// (also run on drop) ends every group. Being in groups of their own, runners do not get a
/// terminal's Ctrl-C: ghops ends them.
pub struct ProcessBackend {
    dry_run: bool,
    procs: Mutex<HashMap<String, Proc>>,
    machine_lock: Option<crate::lock::MachineLock>,
    /// How long `shutdown` waits between SIGTERM and SIGKILL. Default 10 s.
    pub shutdown_grace: Duration,
    /// How long a finished runner stays listed (as a Job stays for its
    /// `ttlSecondsAfterFinished`) before it is forgotten, so the list holds live runners and
    /// the recently finished only. Default 5 minutes.
    pub finished_retention: Duration,
}

impl Default for ProcessBackend {
    fn default() -> Self {
        Self::new(false)
    }
}

impl Drop for ProcessBackend {
    fn drop(&mut self) {
        let procs = self.procs.get_mut().unwrap_or_else(|e| e.into_inner());
        for p in procs.values_mut() {
            p.kill();
        }
    }
}

impl ProcessBackend {
    /// A process backend.
    pub fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            procs: Mutex::new(HashMap::new()),
            machine_lock: None,
            shutdown_grace: Duration::from_secs(10),
            finished_retention: Duration::from_secs(300),
        }
    }

    /// Holds the machine's process-pool lock for this backend's lifetime (see
    /// [`crate::lock`]).
    pub fn hold(&mut self, lock: crate::lock::MachineLock) {
        self.machine_lock = Some(lock);
    }

    /// Notes which runners finished (ending their groups) and forgets those finished for
    /// longer than [`ProcessBackend::finished_retention`].
    fn reap(&self, procs: &mut HashMap<String, Proc>) -> Vec<(String, bool)> {
        let keep = self.finished_retention;
        procs.retain(|_, p| {
            p.poll_finished();
            p.finished.is_none_or(|at| at.elapsed() < keep)
        });
        procs
            .iter()
            .map(|(n, p)| (n.clone(), p.finished.is_some()))
            .collect()
    }

    /// Runners held now, finished or not (at most the live ones plus those finished within
    /// the retention).
    pub fn len(&self) -> usize {
        let mut procs = self.procs.lock().expect("lock");
        self.reap(&mut procs).len()
    }

    /// True when no runner is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ends every runner this backend started: SIGTERM to each runner's process group, up to
    /// [`ProcessBackend::shutdown_grace`] for them to exit, then SIGKILL to what is left.
    pub async fn shutdown(&self) {
        let groups: Vec<nix::unistd::Pid> = {
            let mut procs = self.procs.lock().expect("lock");
            procs
                .values_mut()
                .filter_map(|p| (!p.poll_finished()).then(|| p.pgid()))
                .collect()
        };
        if groups.is_empty() {
            return;
        }
        tracing::info!(runners = groups.len(), "stopping local runners");
        for g in &groups {
            signal_runner_group(*g, nix::sys::signal::Signal::SIGTERM);
        }
        // Every 50 ms until none is alive, never past the grace period.
        let checks = gh_core::retry::poll_until(
            Some(self.shutdown_grace),
            gh_core::retry::Backoff::fixed(Duration::from_millis(50)),
            || {
                let mut procs = self.procs.lock().expect("lock");
                let alive = procs
                    .values_mut()
                    .map(|p| !p.poll_finished())
                    .filter(|alive| *alive)
                    .count();
                std::future::ready(Ok::<_, std::convert::Infallible>(
                    (alive == 0).then_some(()),
                ))
            },
        );
        let _ = checks.await;
        let mut procs = self.procs.lock().expect("lock");
        for p in procs.values_mut() {
            p.kill();
        }
    }

    fn get(&self, name: &str) -> Option<Live> {
        let mut procs = self.procs.lock().expect("lock");
        let p = procs.get_mut(name)?;
        let finished = p.poll_finished();
        Some(Live {
            name: name.to_owned(),
            created: Some(p.created),
            finished,
        })
    }

    fn list(&self, pool: &str) -> Vec<Live> {
        let mut procs = self.procs.lock().expect("lock");
        let done: HashMap<String, bool> = self.reap(&mut procs).into_iter().collect();
        let mut v: Vec<Live> = procs
            .iter()
            .filter(|(_, p)| p.pool == pool)
            .map(|(n, p)| Live {
                name: n.clone(),
                created: Some(p.created),
                finished: done.get(n).copied().unwrap_or(false),
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    fn launch(&self, pool: &PoolConfig, spec: &LaunchSpec, jit: &str) -> Result<Launched> {
        let mut procs = self.procs.lock().expect("lock");
        self.reap(&mut procs);
        if procs.contains_key(&spec.name) {
            return Ok(Launched::AlreadyExists);
        }
        let cmd = &pool.process.command;
        if self.dry_run {
            tracing::info!(
                target: gh_core::output::DRY_RUN,
                verb = "run",
                command = ?cmd,
                runner = %spec.name,
                "would run"
            );
            return Ok(Launched::DryRun);
        }
        let (prog, args) = cmd.split_first().ok_or_else(|| {
            OrchError::config(format!("pools.{}.process.command", pool.name), "empty")
        })?;
        let mut c = std::process::Command::new(prog);
        c.args(args).env_clear();
        for k in ["PATH", "HOME", "LANG", "TMPDIR"] {
            if let Some(v) = std::env::var_os(k) {
                c.env(k, v);
            }
        }
        c.env(JIT_ENV, jit).env("GHOPS_RUNNER_NAME", &spec.name);
        let run_as =
            match (&pool.process.run_as, &pool.process.user) {
                (Some(r), _) => Some(r.clone()),
                (None, Some(u)) => Some(gh_core::hardening::RunAs::resolve(u).map_err(|e| {
                    OrchError::config(format!("pools.{}.process.user", pool.name), e)
                })?),
                (None, None) => None,
            };
        if let Some(r) = &run_as {
            use std::os::unix::process::CommandExt;
            c.uid(r.uid).gid(r.gid);
            for (k, v) in r.env() {
                c.env(k, v);
            }
        }
        if let Some(d) = &pool.process.workdir {
            c.current_dir(d);
        }
        // A group of its own, so that reaping ends the listener and job processes too.
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        c.stdin(std::process::Stdio::null());
        let child = c
            .spawn()
            .map_err(|e| OrchError::Process(format!("cannot start {prog}: {e}")))?;
        procs.insert(
            spec.name.clone(),
            Proc {
                pool: pool.name.clone(),
                child,
                created: Utc::now(),
                finished: None,
            },
        );
        Ok(Launched::Created)
    }

    fn delete(&self, name: &str) -> Result<()> {
        let mut procs = self.procs.lock().expect("lock");
        if let Some(mut p) = procs.remove(name) {
            if self.dry_run {
                return Ok(());
            }
            p.kill();
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "kubernetes"))]
mod tests {
    use super::*;

    fn job(status: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "r-1", "creationTimestamp": "2026-12-05T10:00:00Z"},
            "spec": {"template": {"spec": {"containers": [{"name": "runner", "image": "x"}]}}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_job_is_finished_once_it_succeeded_failed_or_completed() {
        let created = DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
            .unwrap()
            .to_utc();
        for (status, finished) in [
            (json!({}), false),
            (json!({"active": 1}), false),
            (json!({"active": 1, "succeeded": 0, "failed": 0}), false),
            (json!({"succeeded": 1}), true),
            (json!({"failed": 1}), true),
            (json!({"completionTime": "2026-12-05T10:05:00Z"}), true),
        ] {
            let live = KubeBackend::live(&job(status.clone()));
            assert_eq!(
                live,
                Live {
                    name: "r-1".into(),
                    created: Some(created),
                    finished
                },
                "{status}"
            );
        }
        // No status at all (just created).
        let mut j = job(json!({}));
        j.data.as_object_mut().unwrap().remove("status");
        assert!(!KubeBackend::live(&j).finished);
    }
}
