//! Hooks: real processes in their own process group, with a clean environment (no token),
//! the deployment's facts, a timeout (TERM to the group, grace, KILL), output captured to a
//! capped log file and streamed to the agent's stderr.

use std::collections::BTreeMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::watch;

use gh_core::signal::signal_group;

/// Environment variables never passed to a hook (the agent's credentials).
pub use gh_core::hardening::SECRET_VARS;

/// The lifecycle hooks around a task: reserved, never a deployment's task (a deployment with
/// task `post_failure` must not run the failure hook as its task).
pub const LIFECYCLE_HOOKS: &[&str] = &["pre_task", "post_success", "post_failure"];

/// Why `task` cannot be a deployment task, if it cannot: not `[A-Za-z0-9._-]+`, `.`, `..`,
/// or a lifecycle hook name.
pub fn task_refusal(task: &str) -> Option<String> {
    if !valid_task(task) {
        return Some("invalid task name".into());
    }
    LIFECYCLE_HOOKS
        .contains(&task)
        .then(|| format!("task name {task} is reserved for a lifecycle hook"))
}

/// A task name is `[A-Za-z0-9._-]+`, not `.` or `..` (no path traversal).
pub fn valid_task(task: &str) -> bool {
    !task.is_empty()
        && task != "."
        && task != ".."
        && task
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// How a hook ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookEnd {
    /// Exit 0.
    Success,
    /// Non-zero exit: `exited 3` or `killed by signal 9`. Never the hook's output, which
    /// may hold secrets: a hook says what failed through `description=` in `$GHOPS_OUTPUT`.
    Failure(String),
    /// Killed after the timeout.
    TimedOut(Duration),
    /// Stopped because the agent is shutting down.
    Cancelled,
}

/// What a hook reported through `$GHOPS_OUTPUT` (`environment_url=…`, `description=…`).
pub type HookOutput = BTreeMap<String, String>;

/// One hook invocation.
pub struct HookRun<'a> {
    /// The executable.
    pub path: &'a Path,
    /// Extra environment (GHOPS_* and, with legacy env, GITHUB_*).
    pub env: &'a BTreeMap<String, String>,
    /// Working directory.
    pub cwd: &'a Path,
    /// Timeout.
    pub timeout: Duration,
    /// Grace between TERM and KILL.
    pub grace: Duration,
    /// Append output here (capped).
    pub log_file: &'a Path,
    /// Log size cap in bytes.
    pub log_cap: u64,
    /// Prefix of the output lines reported as [`gh_core::output::HOOK_OUTPUT`] events.
    pub prefix: &'a str,
    /// Becomes true when the agent shuts down.
    pub cancel: watch::Receiver<bool>,
    /// Run the hook as this user (`[agent] user`); `None`: as the agent's user.
    pub run_as: Option<&'a gh_core::hardening::RunAs>,
}

/// Runs a hook to its end; returns how it ended and what it reported.
pub async fn run_hook(h: HookRun<'_>) -> std::io::Result<(HookEnd, HookOutput)> {
    let dir = h
        .log_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    tokio::fs::create_dir_all(&dir).await?;
    let output_file: PathBuf = dir.join(format!(
        "{}.output",
        h.log_file
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("hook")
    ));
    let _ = tokio::fs::remove_file(&output_file).await;
    if let Some(u) = h.run_as {
        // The hook's user cannot create files in the agent's log directory: the output file
        // is made for it, writable by it alone.
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&output_file)?;
        drop(f);
        std::os::unix::fs::chown(&output_file, Some(u.uid), Some(u.gid))?;
    }
    let mut cmd = Command::new(h.path);
    cmd.current_dir(h.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for k in SECRET_VARS {
        cmd.env_remove(k);
    }
    cmd.env_remove(gh_core::hardening::HANDOVER_VAR);
    for (k, v) in h.env {
        cmd.env(k, v);
    }
    cmd.env("GHOPS_OUTPUT", &output_file);
    if let Some(u) = h.run_as {
        cmd.uid(u.uid).gid(u.gid);
        for (k, v) in u.env() {
            cmd.env(k, v);
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        // Not executable, a bad interpreter line, …: the hook did not run, and says so.
        Err(e) => {
            tracing::warn!(target: gh_core::output::AGENT, hook = %h.path.display(), error = %e, "hook could not start");
            return Ok((
                HookEnd::Failure(format!("could not start ({})", e.kind())),
                HookOutput::new(),
            ));
        }
    };
    crate::agent::crash_point("hook_started");
    let pid = child.id().unwrap_or(0);
    // The hook's process group (it leads it); 0 if unknown, which signal_group refuses.
    let group = nix::unistd::Pid::from_raw(pid as i32);
    let log = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(h.log_file)
        .await?;
    let log = std::sync::Arc::new(tokio::sync::Mutex::new((log, 0u64)));
    let mut pumps = Vec::new();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
    ] {
        let Some(stream) = stream else { continue };
        let (log, prefix, cap) = (log.clone(), h.prefix.to_owned(), h.log_cap);
        pumps.push(tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(target: gh_core::output::HOOK_OUTPUT, prefix = %prefix, line = %line, "hook output");
                let mut g = log.lock().await;
                let (file, written) = &mut *g;
                if *written < cap {
                    let bytes = format!("{line}\n");
                    let _ = file.write_all(bytes.as_bytes()).await;
                    *written += bytes.len() as u64;
                    if *written >= cap {
                        let _ = file.write_all(b"[log truncated: size cap reached]\n").await;
                    }
                }
            }
        }));
    }
    let mut cancel = h.cancel.clone();
    let end = tokio::select! {
        status = child.wait() => {
            let status = status?;
            if status.success() {
                HookEnd::Success
            } else {
                use std::os::unix::process::ExitStatusExt;
                HookEnd::Failure(match (status.code(), status.signal()) {
                    (Some(c), _) => format!("exited {c}"),
                    (None, Some(sig)) => format!("killed by signal {sig}"),
                    (None, None) => "failed".into(),
                })
            }
        }
        _ = tokio::time::sleep(h.timeout) => {
            let _ = signal_group(group, nix::sys::signal::Signal::SIGTERM);
            if tokio::time::timeout(h.grace, child.wait()).await.is_err() {
                let _ = signal_group(group, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait().await;
            }
            HookEnd::TimedOut(h.timeout)
        }
        _ = async { while !*cancel.borrow_and_update() { if cancel.changed().await.is_err() { std::future::pending::<()>().await } } } => {
            let _ = signal_group(group, nix::sys::signal::Signal::SIGTERM);
            if tokio::time::timeout(h.grace, child.wait()).await.is_err() {
                let _ = signal_group(group, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait().await;
            }
            HookEnd::Cancelled
        }
    };
    for p in pumps {
        let _ = tokio::time::timeout(Duration::from_secs(2), p).await;
    }
    let mut out = HookOutput::new();
    if let Ok(text) = tokio::fs::read_to_string(&output_file).await {
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=')
                && matches!(k.trim(), "environment_url" | "description")
            {
                out.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
    }
    Ok((end, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_names() {
        assert!(valid_task("deploy"));
        assert!(valid_task("db.migrate-2"));
        assert!(!valid_task("../x"));
        assert!(!valid_task(".."));
        assert!(!valid_task("a/b"));
        assert!(!valid_task(""));
        assert!(!valid_task("x y"));
    }

    #[test]
    fn lifecycle_hooks_are_not_tasks() {
        for t in LIFECYCLE_HOOKS {
            assert!(valid_task(t));
            assert_eq!(
                task_refusal(t).unwrap(),
                format!("task name {t} is reserved for a lifecycle hook")
            );
        }
        assert_eq!(task_refusal("../x").unwrap(), "invalid task name");
        assert_eq!(task_refusal("deploy"), None);
        assert_eq!(task_refusal("post_success2"), None);
    }
}
