//! Contract tests: ghops against Prism serving GitHub's official OpenAPI description with
//! request validation on. Any request the description rejects (4xx with `sl-violations`)
//! fails the test. One Prism for the whole run (start-up costs 10-15 s), so the checks are
//! steps of one test; the guard stops Prism even when a step panics.

use gh_core::auth::{Credentials, SecretString, TokenSource};
use gh_core::client::{ClientConfig, GitHub};
use gh_core::comments::{Upserted, marker, upsert_comment};
use gh_core::permission::Policy;
use gh_core::retry::{Idempotency, RetryPolicy};
use serde_json::{Value, json};

use crate::prism::Prism;
use crate::util::{ghops, run, stderr, stdout};

#[path = "contract_flows.rs"]
mod flows;

async fn client(url: &str) -> GitHub {
    GitHub::connect(ClientConfig {
        api_url: url.to_owned(),
        retry: RetryPolicy::none(),
        ..ClientConfig::new(Credentials::Token {
            token: SecretString::from("ghp_contracttoken".to_owned()),
            source: TokenSource::Flag,
        })
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn github_contract() {
    // Each workflow's requests are recorded (against wiremock) while Prism starts.
    let t0 = std::time::Instant::now();
    let (prism, recorded) = tokio::join!(
        async {
            let p = Prism::start().await;
            trace(&format!("prism up after {:?}", t0.elapsed()));
            p
        },
        async {
            let r = flows::record_all().await;
            trace(&format!("recorded after {:?}", t0.elapsed()));
            r
        }
    );
    // Prism answers list endpoints with the description's example `Link` header, which names
    // pages (`/repositories/1300192/issues?page=4` on api.github.com) that Prism does not
    // serve; ghops rightly refuses to treat page 1 as the whole list when it cannot follow a
    // link. The front passes every request and answer through unchanged but that header.
    let prism_addr = prism
        .url
        .trim_start_matches("http://")
        .parse()
        .expect("Prism's address");
    let url = ghops_test_support::start_forwarder(prism_addr, &["link"]);

    // 0. The harness really validates: a malformed body is rejected.
    let gh = client(&url).await;
    let bad = gh
        .post::<Value>(
            "/repos/octo/hello/git/refs",
            &json!({"ref": 5}),
            Idempotency::NonIdempotent,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(bad.status(), Some(400) | Some(422)),
        "an invalid body must be rejected by the contract server: {bad}"
    );

    // The replay flags what the description does not allow: a body of the wrong shape, a
    // path it does not have.
    let bad = [
        ghops_test_support::Seen {
            method: "POST".into(),
            path: "/repos/octo/hello/git/refs".into(),
            body: json!({"ref": 5}),
        },
        ghops_test_support::Seen {
            method: "GET".into(),
            path: "/repos/octo/hello/no-such-endpoint".into(),
            body: Value::Null,
        },
    ];
    let r = replay(&url, "self-check", &bad).await;
    assert_eq!(r.violations.len(), 2, "{:#?}", r.violations);
    // ... a body property or query parameter the description does not define ...
    let e = check_unknown_fields(&[json!({"method": "POST", "path": "/repos/o/r/git/refs",
        "body": {"ref": "refs/heads/x", "sha": "0", "shaa": "0"}})])
    .unwrap_err();
    assert!(e.contains("`shaa`"), "{e}");
    let e = check_unknown_fields(&[json!({"method": "GET",
        "path": "/repos/o/r/issues?state=open&stat=closed", "body": null})])
    .unwrap_err();
    assert!(e.contains("`stat`") && !e.contains("`state`"), "{e}");
    // ... and GraphQL variables of the wrong type.
    let q =
        "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { id } }";
    validate_graphql(&[json!({"query": q, "variables": {"owner": "o", "name": "n"}})]).unwrap();
    let e = validate_graphql(&[json!({"query": q, "variables": {"owner": "o", "name": 5}})])
        .unwrap_err();
    assert!(e.contains("$name"), "{e}");

    // 1. `ghops auth status` (the binary): GET /user, GET /rate_limit.
    let mut c = ghops();
    c.args([
        "auth",
        "status",
        "--json",
        "--repo",
        "octo/hello",
        "--api-url",
        &url,
    ])
    .env("GH_TOKEN", "ghp_contracttoken");
    let out = run(c).await;
    assert!(
        out.status.success(),
        "auth status against Prism: {}\n{}",
        stderr(&out),
        prism.log_tail()
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["identity"]["login"].is_string(), "{v}");
    assert!(v["identity"]["rate_limit"]["limit"].is_u64(), "{v}");

    // 2. Comment upsert: list (paginated) then create, shapes per the description.
    let repo = "octo/hello".parse().unwrap();
    let r = upsert_comment(
        &gh,
        &repo,
        1347,
        &marker("contract"),
        "hello",
        "ghops-contract[bot]",
    )
    .await
    .unwrap_or_else(|e| panic!("upsert against Prism: {e}\n{}", prism.log_tail()));
    assert!(matches!(r, Upserted::Created(_)), "{r:?}");

    // 3. Permission check shape.
    let d = Policy::default()
        .authorize(&gh, &repo, "octocat", Some("User"))
        .await;
    assert!(
        !d.reason.contains("failed"),
        "permission read rejected: {}",
        d.reason
    );

    // 4. Workflow contract steps: each workflow's e2e request set, recorded against wiremock
    //    with the real binary, replayed here.
    let mut violations = Vec::new();
    let mut graphql = Vec::new();
    let mut bodies = Vec::new();
    // The workflows' replays run side by side (each in order).
    // A request the same in method, path and body is replayed once (the first workflow that
    // sent it names it).
    let mut replays = tokio::task::JoinSet::new();
    let mut once = std::collections::HashSet::new();
    for (workflow, seen) in recorded {
        assert!(!seen.is_empty(), "{workflow}: no requests recorded");
        let seen: Vec<_> = seen
            .into_iter()
            .filter(|s| once.insert((s.method.clone(), s.path.clone(), s.body.to_string())))
            .collect();
        let url = url.clone();
        replays.spawn(async move { (workflow, replay(&url, workflow, &seen).await) });
    }
    let mut done: Vec<(&str, Replayed)> = replays.join_all().await;
    trace(&format!(
        "replayed {} requests after {:?}",
        once.len(),
        t0.elapsed()
    ));
    done.sort_by_key(|(workflow, _)| *workflow);
    for (workflow, r) in done {
        violations.extend(r.violations);
        graphql.extend(r.graphql);
        bodies.extend(r.bodies.into_iter().map(|mut b| {
            b["workflow"] = json!(workflow);
            b
        }));
    }
    if let Err(e) = check_unknown_fields(&bodies) {
        violations.extend(e.lines().map(str::to_owned));
    }
    trace(&format!("unknown fields checked after {:?}", t0.elapsed()));
    assert!(
        violations.is_empty(),
        "requests the contract server rejects:\n{}\n{}",
        violations.join("\n"),
        prism.log_tail()
    );
    graphql.sort_by_key(Value::to_string);
    graphql.dedup();
    if let Err(e) = validate_graphql(&graphql) {
        panic!("GraphQL rejected by GitHub's schema:\n{e}");
    }

    trace(&format!("done after {:?}", t0.elapsed()));
    drop(prism);
}

/// With `GHOPS_CONTRACT_TRACE` set: a progress line on stderr (`--no-capture` shows it).
fn trace(line: &str) {
    if std::env::var_os("GHOPS_CONTRACT_TRACE").is_some() {
        eprintln!("contract: {line}");
    }
}

/// What one workflow's replay found.
pub(crate) struct Replayed {
    /// One line per request the contract server rejected.
    pub violations: Vec<String>,
    /// The GraphQL requests sent, `{query, variables}` (validated against GitHub's schema by
    /// [`validate_graphql`]).
    pub graphql: Vec<Value>,
    /// The REST requests, `{method, path, body}` (path and query as Prism matched them;
    /// checked by [`check_unknown_fields`]).
    pub bodies: Vec<Value>,
}

/// The path as Prism matches it: the description's `{ref}` (`git/ref{,s}/…`) and
/// `{basehead}` (`compare/…`) parameters are one segment each, while GitHub takes the
/// branch names in them with their slashes as they are; only here those slashes are
/// percent-encoded.
pub(crate) fn prism_path(path: &str) -> String {
    let (p, q) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut out = p.to_owned();
    for marker in ["/git/ref/", "/git/refs/", "/compare/"] {
        if let Some(i) = p.find(marker) {
            let (head, rest) = p.split_at(i + marker.len());
            out = format!("{head}{}", rest.replace('/', "%2F"));
        }
    }
    match q {
        Some(q) => format!("{out}?{q}"),
        None => out,
    }
}

/// The entries of Prism's `sl-violations` header about the request. Those about the answer
/// are Prism's: it serves the description's examples, a few of which its own schemas reject
/// (a `requested_teams` entry without `type` ...).
fn request_violations(header: Option<&str>) -> Option<String> {
    let all: Vec<Value> = serde_json::from_str(header?).expect("sl-violations is JSON");
    let ours: Vec<&Value> = all
        .iter()
        .filter(|v| v["location"][0] != "response")
        .collect();
    (!ours.is_empty()).then(|| format!("sl-violations: {}", json!(ours)))
}

/// Replays recorded requests (method, path with query, JSON body) against the contract
/// server. A request is a violation when the server answers anything but 2xx (a 404 is a
/// path the description does not have, a 400/422 a body or query it does not allow) or
/// flags the request in `sl-violations`. GraphQL documents are collected, not sent: Prism serves no
/// GraphQL.
pub(crate) async fn replay(
    url: &str,
    workflow: &str,
    seen: &[ghops_test_support::Seen],
) -> Replayed {
    use http::{HeaderMap, Method};
    let gh = client(url).await;
    let mut out = Replayed {
        violations: Vec::new(),
        graphql: Vec::new(),
        bodies: Vec::new(),
    };
    for s in seen {
        trace(&format!(
            "replay {workflow}: {} {} {}",
            s.method, s.path, s.body
        ));
        if s.path == "/graphql" {
            assert!(s.body["query"].is_string(), "{workflow}: {s:?}");
            out.graphql.push(json!({
                "query": s.body["query"],
                "variables": s.body.get("variables").cloned().unwrap_or(json!({})),
            }));
            continue;
        }
        let p = prism_path(&s.path);
        out.bodies
            .push(json!({"method": s.method, "path": p, "body": s.body}));
        let method = Method::from_bytes(s.method.as_bytes()).expect("an HTTP method");
        let body = (!s.body.is_null()).then_some(&s.body);
        let r = gh
            .request(
                method,
                &p,
                body,
                &HeaderMap::new(),
                Idempotency::NonIdempotent,
            )
            .await;
        let problem = match r {
            Err(e) => Some(format!("no answer: {e}")),
            Ok(r) if !(200..300).contains(&r.status) => Some(format!(
                "{}: {}",
                r.status,
                String::from_utf8_lossy(&r.body)
            )),
            Ok(r) => request_violations(r.header("sl-violations")),
        };
        if let Some(problem) = problem {
            out.violations.push(format!(
                "{workflow}: {} {p} {}: {problem}",
                s.method, s.body
            ));
        }
    }
    out
}

#[test]
fn only_request_violations_count() {
    assert_eq!(request_violations(None), None);
    let response_only = r#"[{"location":["response","body","user"],"severity":"Error","code":"required","message":"m"}]"#;
    assert_eq!(request_violations(Some(response_only)), None);
    let both = r#"[{"location":["request","body"],"message":"a"},{"location":["response","body"],"message":"b"}]"#;
    assert_eq!(
        request_violations(Some(both)).as_deref(),
        Some(r#"sl-violations: [{"location":["request","body"],"message":"a"}]"#)
    );
}

#[test]
fn prism_path_encodes_only_the_one_segment_parameters() {
    assert_eq!(
        prism_path("/repos/o/r/git/ref/heads/release/1.4.0"),
        "/repos/o/r/git/ref/heads%2Frelease%2F1.4.0"
    );
    assert_eq!(prism_path("/repos/o/r/git/refs"), "/repos/o/r/git/refs");
    assert_eq!(
        prism_path("/repos/o/r/compare/v1.4.0...release/1.4.0?per_page=1"),
        "/repos/o/r/compare/v1.4.0...release%2F1.4.0?per_page=1"
    );
    assert_eq!(
        prism_path("/repos/o/r/issues/1/comments?per_page=100"),
        "/repos/o/r/issues/1/comments?per_page=100"
    );
}

/// Validates GraphQL requests (`{query, variables}`) against GitHub's public schema
/// (`contract/validate-graphql.mjs`): each document, then its variables against the
/// operation's definitions. `Err` holds the validator's report.
fn validate_graphql(requests: &[Value]) -> Result<(), String> {
    run_checker("validate-graphql.mjs", requests)
}

/// Flags body properties and query parameters the description does not define for the
/// operation (`contract/check-unknown-fields.mjs`; requests `{method, path, body}`): GitHub
/// ignores an unknown one silently, and Prism lets it through unless the schema forbids extras.
fn check_unknown_fields(requests: &[Value]) -> Result<(), String> {
    run_checker("check-unknown-fields.mjs", requests)
}

/// Runs a checker script of `contract/` with `input` (JSON) on stdin: `Err(report)` when it
/// exits 1; panics when it cannot run.
fn run_checker(script: &str, input: &[Value]) -> Result<(), String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let dir = ghops_test_support::repo_root().join("contract");
    assert!(
        dir.join("node_modules/@octokit/graphql-schema").exists(),
        "the contract harness is not installed: run `cd contract && npm ci` (./scripts/test does)"
    );
    let mut child = Command::new("node")
        .arg(script)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(input).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    match out.status.code() {
        Some(0) => Ok(()),
        Some(1) => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
        _ => panic!("{script} failed: {}", String::from_utf8_lossy(&out.stderr)),
    }
}
