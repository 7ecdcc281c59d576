//! Process hardening for the `ghops` binary and the children it starts (hooks, local runners).
//!
//! What a child process (a deploy hook, a local Actions runner running job code) could
//! otherwise take from ghops, and what closes it:
//!
//! - **`/proc/<ghops>/environ`, `/proc/<ghops>/mem`**: readable by any process of the same
//!   user while ghops is *dumpable*. [`harden_startup`] makes ghops non-dumpable
//!   (`prctl(PR_SET_DUMPABLE, 0)`): the kernel then denies those files (and `ptrace`) to every
//!   process without `CAP_SYS_PTRACE`, and no core dump is written.
//! - **the secrets in ghops's own environment** (`GH_TOKEN`, `GHOPS_APP_PRIVATE_KEY`, ...):
//!   `/proc/<pid>/environ` shows the environment the process was *started* with, whatever it
//!   does to its environment later (`unsetenv` only edits a pointer array; it is also `unsafe`
//!   in Rust 2024). So [`harden_startup`] reads the secrets, hands them to a fresh image of
//!   the same binary through a pipe, and re-executes itself (same pid, same arguments) with an
//!   environment without them. The new image takes them from the pipe before anything else
//!   runs and serves them through [`secret_var`]. A root-owned child (`CAP_SYS_PTRACE`) that
//!   reads `/proc/<ppid>/environ` anyway finds no secret in it.
//! - **files** (`--app-key FILE`, the state directory): nothing in-process protects a file
//!   from a child running as the same user. [`RunAs`] runs children as another user (`user =`
//!   in the runner pool and `[agent]` configuration): the production setting.
//!
//! No `unsafe` here: the pipe is created by `nix`, its read end is found again after `exec`
//! through `/proc/self/fd`, and the only environment change is the one `exec` makes.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::auth::SecretString;

/// Environment variables holding credentials: never passed to a child, removed from ghops's
/// own environment at start ([`harden_startup`]).
pub const SECRET_VARS: &[&str] = &[
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GHOPS_APP_PRIVATE_KEY",
    "GHOPS_WEBHOOK_SECRET",
    "GHOPS_TOKEN",
];

/// The variable naming the pipe the secrets were handed over in: `<pid>:<fd>`. Honoured only
/// when `<pid>` is this process (a re-exec keeps the pid; an inherited stale value does not
/// match).
pub const HANDOVER_VAR: &str = "GHOPS_SECRETS_FD";

/// Above this many bytes of secrets no handover is tried (a pipe holds 64 KiB; the writer must
/// never block): ghops then keeps them in its environment, still unreadable by other processes
/// while it is non-dumpable.
const MAX_HANDOVER: usize = 48 * 1024;

static SECRETS: OnceLock<BTreeMap<String, SecretString>> = OnceLock::new();

/// Process-hardening failures.
#[derive(Debug, thiserror::Error)]
pub enum HardeningError {
    /// The secrets handed over at start could not be read back.
    #[error("cannot read the credentials handed over at start ({HANDOVER_VAR}): {0}")]
    Handover(String),
    /// `user =` names no usable account.
    #[error("user {spec:?}: {message}")]
    User {
        /// The configured value.
        spec: String,
        /// What is wrong.
        message: String,
    },
}

/// A secret variable: the value handed over at start, else the process environment (a
/// library caller or test that never ran [`harden_startup`]). Empty values count as unset.
pub fn secret_var(name: &str) -> Option<SecretString> {
    if let Some(v) = SECRETS.get().and_then(|m| m.get(name)) {
        return Some(v.clone());
    }
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
}

/// Makes this process non-dumpable: `/proc/<pid>/environ`, `mem`, `maps`, `fd/` and
/// `ptrace` are denied to processes without `CAP_SYS_PTRACE`, and no core dump is written.
pub fn set_non_dumpable() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        nix::sys::prctl::set_dumpable(false).map_err(std::io::Error::from)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok(())
    }
}

/// True when this process is dumpable (Linux; `false` elsewhere).
pub fn is_dumpable() -> bool {
    #[cfg(target_os = "linux")]
    {
        nix::sys::prctl::get_dumpable().unwrap_or(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// What [`harden_startup`] did (for the caller's debug log, after tracing is set up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Startup {
    /// No secret in the environment: nothing to move.
    NoSecrets,
    /// This image received the secrets from the one before it; its environment has none.
    HandedOver,
    /// The secrets stay in the environment (no `/proc`, too large, or `exec` failed); they
    /// are still unreadable by other processes while ghops is non-dumpable.
    KeptInEnvironment,
}

/// Call first thing in `main`, before any thread starts: makes the process non-dumpable and
/// moves the secrets out of its environment by re-executing the binary (see the module
/// documentation). Returns only in the final image (or when no re-exec is needed or possible).
pub fn harden_startup() -> Result<Startup, HardeningError> {
    // Before anything reads a secret: the window in which another process of the same user
    // could read this one's memory ends here.
    let _ = set_non_dumpable();
    if let Some(v) = std::env::var_os(HANDOVER_VAR)
        && let Some(fd) = own_handover_fd(&v)
    {
        let secrets = read_handover(fd)?;
        let _ = SECRETS.set(secrets);
        return Ok(Startup::HandedOver);
    }
    let found: Vec<(&str, OsString)> = SECRET_VARS
        .iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (*k, v)))
        .collect();
    if found.is_empty() {
        return Ok(Startup::NoSecrets);
    }
    let mut payload = Vec::new();
    for (k, v) in &found {
        payload.extend_from_slice(k.as_bytes());
        payload.push(0);
        payload.extend_from_slice(v.as_bytes());
        payload.push(0);
    }
    if payload.len() > MAX_HANDOVER {
        return Ok(Startup::KeptInEnvironment);
    }
    let Ok(exe) = std::env::current_exe() else {
        return Ok(Startup::KeptInEnvironment);
    };
    // Without /proc the new image could not find the pipe again: keep the environment.
    if !std::path::Path::new("/proc/self/fd").is_dir() {
        return Ok(Startup::KeptInEnvironment);
    }
    let Ok((read, write)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK) else {
        return Ok(Startup::KeptInEnvironment);
    };
    // O_NONBLOCK: a short pipe (a user over `pipe-user-pages-soft` gets 4 KiB) fails the
    // write instead of blocking this single thread forever.
    let mut w = std::fs::File::from(write);
    if w.write_all(&payload).is_err() {
        return Ok(Startup::KeptInEnvironment);
    }
    drop(w); // the new image reads to EOF
    // The read end has no close-on-exec flag (pipe2 without O_CLOEXEC): it survives exec.
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    let mut cmd = std::process::Command::new(&exe);
    use std::os::unix::process::CommandExt;
    cmd.arg0(arg0).args(args).env_clear();
    for (k, v) in std::env::vars_os() {
        let secret = k.to_str().is_some_and(|k| SECRET_VARS.contains(&k));
        if !secret && k != OsStr::new(HANDOVER_VAR) {
            cmd.env(k, v);
        }
    }
    cmd.env(
        HANDOVER_VAR,
        format!("{}:{}", std::process::id(), read.as_raw_fd()),
    );
    let _err = cmd.exec(); // returns only on failure
    drop(read);
    Ok(Startup::KeptInEnvironment)
}

/// The fd of a handover addressed to this process (`<our pid>:<fd>`, fd > 2).
fn own_handover_fd(v: &OsStr) -> Option<i32> {
    let (pid, fd) = v.to_str()?.split_once(':')?;
    let pid: u32 = pid.parse().ok()?;
    let fd: i32 = fd.parse().ok()?;
    (pid == std::process::id() && fd > 2).then_some(fd)
}

fn read_handover(fd: i32) -> Result<BTreeMap<String, SecretString>, HardeningError> {
    let bad = |m: String| HardeningError::Handover(m);
    // A new open of the same pipe (safe code cannot adopt a raw fd), then the inherited
    // descriptor is closed so no child inherits it.
    let data = std::fs::read(format!("/proc/self/fd/{fd}")).map_err(|e| bad(e.to_string()));
    let _ = nix::unistd::close(fd);
    let data = data?;
    let mut out = BTreeMap::new();
    let mut parts = data.split(|b| *b == 0);
    while let Some(k) = parts.next() {
        if k.is_empty() {
            break;
        }
        let v = parts.next().ok_or_else(|| bad("truncated".into()))?;
        let k = std::str::from_utf8(k).map_err(|_| bad("bad name".into()))?;
        if !SECRET_VARS.contains(&k) {
            return Err(bad(format!("unexpected name {k:?}")));
        }
        let v = String::from_utf8(v.to_vec()).map_err(|_| bad(format!("{k} is not UTF-8")))?;
        if !v.is_empty() {
            out.insert(k.to_owned(), SecretString::from(v));
        }
    }
    Ok(out)
}

/// The account a child process runs as (`user =` in the configuration): uid, primary gid,
/// home directory. The child gets no supplementary groups (the standard library drops them
/// when root switches user; a hook needing a group gets it as the primary one: `uid:gid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// The configured value (`deploy`, `1001`, `1001:1001`).
    pub spec: String,
    /// Login name, when the account exists in the user database.
    pub name: Option<String>,
    /// User id (never 0).
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Home directory (`HOME` of the child), when known.
    pub home: Option<PathBuf>,
}

impl RunAs {
    /// Resolves `name`, `uid` or `uid:gid` against the user database, and checks that this
    /// process may switch to it (it runs as root, or already as that user). Root is refused:
    /// the point is a child that cannot read what ghops can.
    pub fn resolve(spec: &str) -> Result<Self, HardeningError> {
        let err = |m: &str| HardeningError::User {
            spec: spec.to_owned(),
            message: m.to_owned(),
        };
        let s = spec.trim();
        if s.is_empty() {
            return Err(err("empty"));
        }
        let (user_part, group_part) = match s.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (s, None),
        };
        let lookup = |r: nix::Result<Option<nix::unistd::User>>| {
            r.map_err(|e| err(&format!("user database lookup failed: {e}")))
        };
        let (uid, mut gid, name, home) = if let Ok(uid) = user_part.parse::<u32>() {
            match lookup(nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)))? {
                Some(u) => (uid, Some(u.gid.as_raw()), Some(u.name), Some(u.dir)),
                None => (uid, None, None, None),
            }
        } else {
            match lookup(nix::unistd::User::from_name(user_part))? {
                Some(u) => (
                    u.uid.as_raw(),
                    Some(u.gid.as_raw()),
                    Some(u.name),
                    Some(u.dir),
                ),
                None => return Err(err("no such user")),
            }
        };
        if let Some(g) = group_part {
            gid = Some(if let Ok(g) = g.parse::<u32>() {
                g
            } else {
                nix::unistd::Group::from_name(g)
                    .map_err(|e| err(&format!("group lookup failed: {e}")))?
                    .ok_or_else(|| err("no such group"))?
                    .gid
                    .as_raw()
            });
        }
        let Some(gid) = gid else {
            return Err(err(
                "a numeric uid not in the user database needs its group: uid:gid",
            ));
        };
        if uid == 0 {
            return Err(err(
                "children must not run as root (they could read everything ghops can)",
            ));
        }
        let (euid, egid) = (
            nix::unistd::geteuid().as_raw(),
            nix::unistd::getegid().as_raw(),
        );
        if euid != 0 && (euid, egid) != (uid, gid) {
            return Err(err(
                "switching user needs ghops to run as root (it drops to this user for each child)",
            ));
        }
        Ok(Self {
            spec: s.to_owned(),
            name,
            uid,
            gid,
            home,
        })
    }

    /// The environment of a child running as this user: `HOME`, `USER`, `LOGNAME`.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let mut v = Vec::new();
        if let Some(h) = &self.home {
            v.push(("HOME", h.clone().into_os_string()));
        }
        if let Some(n) = &self.name {
            v.push(("USER", OsString::from(n)));
            v.push(("LOGNAME", OsString::from(n)));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handover_is_only_ours() {
        let me = std::process::id();
        assert_eq!(own_handover_fd(OsStr::new(&format!("{me}:7"))), Some(7));
        assert_eq!(own_handover_fd(OsStr::new(&format!("{}:7", me + 1))), None);
        assert_eq!(own_handover_fd(OsStr::new(&format!("{me}:2"))), None);
        assert_eq!(own_handover_fd(OsStr::new("7")), None);
    }

    fn handover(payload: &[u8]) -> Result<BTreeMap<String, SecretString>, HardeningError> {
        let (read, write) = nix::unistd::pipe().unwrap();
        let mut w = std::fs::File::from(write);
        w.write_all(payload).unwrap();
        drop(w);
        // read_handover closes the descriptor itself, as after a re-exec.
        let fd = std::os::fd::IntoRawFd::into_raw_fd(read);
        read_handover(fd)
    }

    #[test]
    fn handover_round_trips_and_refuses_strangers() {
        use crate::auth::ExposeSecret;
        let m = handover(b"GH_TOKEN\0ghp_x\0GHOPS_WEBHOOK_SECRET\0s=1\0GITHUB_TOKEN\0\0").unwrap();
        assert_eq!(m.len(), 2, "empty values count as unset");
        assert_eq!(m["GH_TOKEN"].expose_secret(), "ghp_x");
        assert_eq!(m["GHOPS_WEBHOOK_SECRET"].expose_secret(), "s=1");
        let e = handover(b"PATH\0/bin\0").unwrap_err().to_string();
        assert!(e.contains("unexpected name \"PATH\""), "{e}");
        assert!(handover(b"GH_TOKEN").is_err());
    }

    #[test]
    fn run_as_refuses_root_and_unknown_users() {
        assert!(
            RunAs::resolve("root")
                .unwrap_err()
                .to_string()
                .contains("root")
        );
        assert!(RunAs::resolve("0:0").is_err());
        assert!(
            RunAs::resolve("no-such-user-ghops")
                .unwrap_err()
                .to_string()
                .contains("no such user")
        );
        assert!(RunAs::resolve("").is_err());
    }

    #[test]
    fn run_as_resolves_numeric_ids() {
        let me = nix::unistd::geteuid().as_raw();
        let r = RunAs::resolve("4242:4243");
        if me == 0 {
            let r = r.unwrap();
            assert_eq!((r.uid, r.gid), (4242, 4243));
        } else {
            assert!(r.unwrap_err().to_string().contains("root"));
        }
    }

    #[test]
    fn non_dumpable_sticks() {
        set_non_dumpable().unwrap();
        assert!(!is_dumpable());
    }
}
