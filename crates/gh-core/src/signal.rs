//! Signalling a child's process group (hooks, local runners): one place for the whole
//! workspace. The shutdown signal every daemon waits for is [`crate::shutdown`].

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// Sends `sig` to every process of the group `pgid` (`killpg`). A group that no longer exists
/// (`ESRCH`: everything in it already exited) is not an error.
///
/// Fails closed: a `pgid` of 0 or 1 (the caller's own group, init) is refused with `EINVAL`
/// instead of signalling it.
pub fn signal_group(pgid: Pid, sig: Signal) -> Result<(), Errno> {
    if pgid.as_raw() <= 1 {
        return Err(Errno::EINVAL);
    }
    match nix::sys::signal::killpg(pgid, sig) {
        Ok(()) | Err(Errno::ESRCH) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn refuses_own_group_and_init() {
        assert_eq!(
            signal_group(Pid::from_raw(0), Signal::SIGTERM),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            signal_group(Pid::from_raw(1), Signal::SIGTERM),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            signal_group(Pid::from_raw(-5), Signal::SIGTERM),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn a_gone_group_is_not_an_error() {
        // A group leader that has exited and been reaped: its group is gone.
        let mut child = std::process::Command::new("true")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = Pid::from_raw(child.id() as i32);
        child.wait().unwrap();
        assert_eq!(signal_group(pgid, Signal::SIGTERM), Ok(()));
    }

    #[test]
    fn kills_every_process_of_the_group() {
        use std::os::unix::process::ExitStatusExt;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = Pid::from_raw(child.id() as i32);
        signal_group(pgid, Signal::SIGKILL).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(Signal::SIGKILL as i32));
    }
}
