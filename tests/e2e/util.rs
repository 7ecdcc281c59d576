//! Running the `ghops` binary in tests.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `ghops` binary cargo built for this test run (`CARGO_BIN_EXE_ghops`: these tests are
/// integration tests of the `ghops` package, so cargo builds its binary first and they can
/// never run a stale one).
pub fn ghops_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ghops"))
}

/// A `ghops` command with a clean environment: no inherited GitHub variables, fast retries.
pub fn ghops() -> Command {
    let mut c = Command::new(ghops_bin());
    for k in [
        "GH_TOKEN",
        "GITHUB_TOKEN",
        "GITHUB_API_URL",
        "GITHUB_REPOSITORY",
        "GITHUB_EVENT_PATH",
        "GITHUB_OUTPUT",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_ACTIONS",
        "GITHUB_RUN_ID",
        "GHOPS_APP_ID",
        "GHOPS_APP_PRIVATE_KEY",
        "GHOPS_CONFIG",
        "RUST_LOG",
    ] {
        c.env_remove(k);
    }
    c.env("NO_COLOR", "1")
        .env("GHOPS_RETRY_BASE_MS", "5")
        .env("GHOPS_RETRY_MAX_DELAY_MS", "50")
        .env("GHOPS_RETRY_MAX_TOTAL_MS", "10000");
    c
}

/// Runs a command off the async runtime's worker threads and returns its output.
pub async fn run(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().expect("run ghops"))
        .await
        .expect("join")
}

/// Sends SIGTERM to `child` (started with piped output) and waits for it: its output.
pub async fn terminate(child: std::process::Child) -> Output {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Each line of `text` as JSON (every stderr line with `GHOPS_LOG_FORMAT=json`); panics on a
/// line that is not.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// `GET path` on `addr`: (status, body); status 0 when nothing listens.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return (0, String::new());
    };
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (status, body.unwrap_or_default())
}

/// The JSON a `--json` command printed, checked against what `ghops schema <schema>` prints
/// for it (issue 18: every `--json` output has a published schema that it matches). Panics
/// when stdout is not JSON or does not match. `json_schema::every_schema_is_checked` requires
/// a call with each schema name, as a literal.
pub fn valid_json(schema: &str, o: &Output) -> serde_json::Value {
    let text = stdout(o);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "ghops … --json ({schema}) printed no JSON ({e}):\n{text}\n{}",
            stderr(o)
        )
    });
    let s = Command::new(ghops_bin())
        .args(["schema", schema])
        .output()
        .expect("run ghops schema");
    assert!(s.status.success(), "ghops schema {schema}: {}", stderr(&s));
    let schema_v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    let mut errors = ghops_test_support::schema::validate(&schema_v, &v);
    full_shas(&v, "", &mut errors);
    assert!(
        errors.is_empty(),
        "the output does not match `ghops schema {schema}`:\n  {}\noutput: {text}",
        errors.join("\n  ")
    );
    v
}

/// Issue 18: every SHA in JSON output is a full one. Any string under a key named `sha` or
/// ending in `_sha` must be 40 (or, SHA-256, 64) lowercase hex digits.
fn full_shas(v: &serde_json::Value, at: &str, errors: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                let here = format!("{at}/{k}");
                if (k == "sha" || k.ends_with("_sha"))
                    && let Some(s) = x.as_str()
                    && !((s.len() == 40 || s.len() == 64)
                        && s.bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                {
                    errors.push(format!("{here}: {s:?} is not a full SHA"));
                }
                full_shas(x, &here, errors);
            }
        }
        serde_json::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                full_shas(x, &format!("{at}/{i}"), errors);
            }
        }
        _ => {}
    }
}

/// A running daemon's stderr, collected as it comes (a thread reads the pipe to its end), so a
/// test can wait for a line while the process runs.
pub struct Log {
    text: std::sync::Arc<std::sync::Mutex<String>>,
    reader: std::thread::JoinHandle<()>,
}

impl Log {
    /// Follows `child`'s stderr (started with `Stdio::piped()`; the pipe is taken).
    pub fn follow(child: &mut std::process::Child) -> Self {
        let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr piped");
        let t = text.clone();
        let reader = std::thread::spawn(move || {
            use std::io::Read;
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                t.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Log { text, reader }
    }

    /// What was read so far.
    pub fn text(&self) -> String {
        self.text.lock().unwrap().clone()
    }

    /// Waits (up to 20 s) until the log contains `needle`; panics with the log if the process
    /// exits first or the time runs out.
    pub async fn wait_for(&self, child: &mut std::process::Child, needle: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !self.text().contains(needle) {
            if let Ok(Some(status)) = child.try_wait() {
                // The rest of the pipe, then one last look.
                std::thread::sleep(std::time::Duration::from_millis(50));
                assert!(
                    self.text().contains(needle),
                    "exited ({status}) before {needle:?}:\n{}",
                    self.text()
                );
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {needle:?} within 20 s:\n{}",
                self.text()
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// The address of the `--metrics-bind 127.0.0.1:0` listener, as the daemon reports it
    /// (`metrics and health on http://ADDR`): binding port 0 in the daemon itself leaves no
    /// window in which another test could take a port picked beforehand.
    pub async fn metrics_addr(&self, child: &mut std::process::Child) -> std::net::SocketAddr {
        const SAID: &str = "metrics and health on http://";
        self.wait_for(child, SAID).await;
        let text = self.text();
        let rest = &text[text.find(SAID).unwrap() + SAID.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == ':'))
            .unwrap_or(rest.len());
        rest[..end].parse().expect("a socket address")
    }

    /// Everything the process wrote to stderr (waits for the pipe to close).
    pub fn finish(self) -> String {
        self.reader.join().unwrap();
        self.text.lock().unwrap().clone()
    }
}
