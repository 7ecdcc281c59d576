//! One owner of the process pools per machine.
//!
//! The process backend knows the runners its own process started (their pids, their process
//! groups). A second ghops process running the same pools would see none of them: on a `409`
//! for a runner name it would delete the other process's still-starting registration and
//! launch again. So the process that runs process pools takes an exclusive `flock` on a file
//! that every ghops process on the machine opens ([`DEFAULT_LOCK_FILE`], or
//! `[runners].lock_file`), and holds it for its lifetime; a second one is refused with the
//! holder's pid. The kernel releases the lock when the holder exits, however it exits.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{OrchError, Result};

/// Where the lock lives unless `[runners].lock_file` says otherwise. Every ghops process on
/// the machine must open the same file: under systemd's `PrivateTmp=` each service has its
/// own `/tmp`, so set `lock_file` to a shared path (e.g. `/var/lib/ghops/runners.lock`).
pub const DEFAULT_LOCK_FILE: &str = "/tmp/ghops-runners.lock";

/// The held lock; released on drop (or when the process exits).
#[derive(Debug)]
pub struct MachineLock {
    _lock: Flock<File>,
    path: PathBuf,
}

impl MachineLock {
    /// Takes the lock at `path` (created `0644` if missing; never through a symlink), or
    /// fails with [`OrchError::ProcessPoolsOwned`] naming the holder's pid when another
    /// process holds it. Writes this process's pid into the file when it may.
    pub fn acquire(path: &Path) -> Result<Self> {
        let (file, writable) = open(path).map_err(|e| {
            OrchError::Process(format!("cannot open the lock file {}: {e}", path.display()))
        })?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => {
                if writable {
                    let mut f: &File = &lock;
                    let _ = f
                        .set_len(0)
                        .and_then(|()| writeln!(f, "{}", std::process::id()));
                }
                Ok(Self {
                    _lock: lock,
                    path: path.to_owned(),
                })
            }
            Err((mut f, Errno::EWOULDBLOCK)) => {
                let mut s = String::new();
                let _ = f.rewind().and_then(|_| f.read_to_string(&mut s));
                Err(OrchError::ProcessPoolsOwned {
                    path: path.to_owned(),
                    holder: s.trim().parse().ok(),
                })
            }
            Err((_, e)) => Err(OrchError::Process(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Opens the lock file read-write, or read-only when another user made it (a lock on a
/// read-only descriptor excludes as well); creates it when missing.
fn open(path: &Path) -> std::io::Result<(File, bool)> {
    let nofollow = nix::libc::O_NOFOLLOW;
    loop {
        match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(nofollow)
            .open(path)
        {
            Ok(f) => return Ok((f, true)),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                let f = OpenOptions::new()
                    .read(true)
                    .custom_flags(nofollow)
                    .open(path)?;
                return Ok((f, false));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(path)
        {
            Ok(f) => return Ok((f, true)),
            // Another process created it between the two opens: open theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("runners.lock");
        let held = MachineLock::acquire(&p).unwrap();
        assert_eq!(held.path(), p);
        // A second open file description conflicts even within one process.
        match MachineLock::acquire(&p) {
            Err(OrchError::ProcessPoolsOwned { holder, path }) => {
                assert_eq!(holder, Some(std::process::id()));
                assert_eq!(path, p);
            }
            other => panic!("{other:?}"),
        }
        drop(held);
        MachineLock::acquire(&p).unwrap();
    }

    #[test]
    fn never_follows_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "keep").unwrap();
        let p = dir.path().join("runners.lock");
        std::os::unix::fs::symlink(&target, &p).unwrap();
        assert!(matches!(
            MachineLock::acquire(&p),
            Err(OrchError::Process(_))
        ));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }
}
