//! The contract server: Prism (pinned in `contract/package.json`) mocking GitHub's official
//! OpenAPI description (`@octokit/openapi`) on 127.0.0.1, with request validation on. Started
//! from the test with a bounded wait; stopped (whole process group) when the guard drops, even
//! when the test panics.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// A running Prism; stopped on drop.
pub struct Prism {
    child: Child,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

fn contract_dir() -> PathBuf {
    ghops_test_support::repo_root().join("contract")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prism {
    /// Starts Prism and waits (at most `PRISM_START_TIMEOUT` seconds, default 120) until it
    /// answers `GET /`.
    pub async fn start() -> Prism {
        let dir = contract_dir();
        let bin = dir.join("node_modules/.bin/prism");
        let spec = dir.join("node_modules/@octokit/openapi/generated/api.github.com.json");
        assert!(
            bin.exists() && spec.exists(),
            "the contract harness is not installed: run `cd contract && npm ci` (./scripts/test does)"
        );
        let port = free_port();
        let tmp = tempfile::tempdir().unwrap();
        let log = tmp.path().join("prism.log");
        let child = Command::new(&bin)
            .args([
                "mock",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "-v",
                "warn",
            ])
            .arg(&spec)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(tmp.path().join("prism.err")).unwrap())
            .process_group(0)
            .spawn()
            .expect("start prism (is node installed?)");
        let mut prism = Prism {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: tmp,
        };
        let limit = std::env::var("PRISM_START_TIMEOUT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(120);
        let deadline = Instant::now() + Duration::from_secs(limit);
        loop {
            if let Ok(Some(status)) = prism.child.try_wait() {
                panic!(
                    "prism exited during start-up ({status}): {}",
                    prism.log_tail()
                );
            }
            if probe(port).await {
                return prism;
            }
            assert!(
                Instant::now() < deadline,
                "prism did not answer within {limit}s: {}",
                prism.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The last lines of Prism's log.
    pub fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

async fn probe(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    let req = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = vec![0u8; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await,
        Ok(Ok(n)) if n > 12 && buf.starts_with(b"HTTP/1.1 200")
    )
}

impl Drop for Prism {
    fn drop(&mut self) {
        let pgid = Pid::from_raw(self.child.id() as i32);
        let _ = killpg(pgid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}
