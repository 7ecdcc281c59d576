//! The webhook server: signatures, limits, de-duplication, back-pressure, draining and the
//! redelivery pass (wiremock GitHub, exact requests).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ghops_serve::{Delivery, Handler, HandlerFuture, ServeConfig, Server};
use ghops_test_support::{MockGitHub, fixture_bytes, sign, wait_until};
use http_body_util::BodyExt;
use tower::ServiceExt;

const SECRET: &[u8] = b"topsecret";

#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, String, Option<u64>)>>,
    delay: Duration,
}

impl Handler for Recorder {
    fn handle(&self, d: Delivery) -> HandlerFuture {
        let delay = self.delay;
        self.seen
            .lock()
            .unwrap()
            .push((d.event.clone(), d.id.clone(), d.installation_id));
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(())
        })
    }
}

fn server_with(rec: Arc<Recorder>, queue: usize) -> Server {
    let mut c = ServeConfig::new(SECRET.to_vec());
    c.queue_capacity = queue;
    c.handlers.insert("issue_comment".into(), rec.clone());
    c.handlers.insert("workflow_job".into(), rec);
    Server::new(c)
}

fn req(id: &str, event: &str, body: Vec<u8>, sig: Option<String>, ctype: &str) -> Request<Body> {
    let mut b = Request::post("/webhook")
        .header("content-type", ctype)
        .header("x-github-event", event)
        .header("x-github-delivery", id);
    if let Some(s) = sig {
        b = b.header("x-hub-signature-256", s);
    }
    b.body(Body::from(body)).unwrap()
}

fn signed(id: &str, event: &str, fixture: &str) -> Request<Body> {
    let body = fixture_bytes(fixture);
    let sig = sign(SECRET, &body);
    req(id, event, body, Some(sig), "application/json")
}

async fn send(s: &Server, r: Request<Body>) -> (StatusCode, String) {
    let resp = s.router().oneshot(r).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Waits (bounded) until the handler has been called `n` times.
async fn settle(rec: &Recorder, n: usize) {
    wait_until(&format!("{n} handler calls"), || {
        rec.seen.lock().unwrap().len() >= n
    })
    .await;
}

/// The delivery ids the handler saw, sorted (workers run deliveries concurrently).
fn ids(rec: &Recorder) -> Vec<String> {
    let mut v: Vec<String> = rec
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.1.clone())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn valid_delivery_reaches_its_handler_with_the_installation() {
    let rec = Arc::new(Recorder::default());
    let s = server_with(rec.clone(), 8);
    let _w = s.start_workers();
    let (st, _) = send(
        &s,
        signed(
            "d1",
            "issue_comment",
            "issue_comment.created.on-pr.derived.json",
        ),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    settle(&rec, 1).await;
    let seen = rec.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "issue_comment");
    assert_eq!(seen[0].1, "d1");
    assert!(seen[0].2.is_some(), "installation id from the payload");
    assert_eq!(s.metrics().count("issue_comment", "accepted"), 1);
}

#[tokio::test]
async fn bad_signatures_are_401_and_run_nothing() {
    let rec = Arc::new(Recorder::default());
    let s = server_with(rec.clone(), 8);
    let _w = s.start_workers();
    let body = fixture_bytes("issue_comment.created.json");
    let good = sign(SECRET, &body);
    let cases = [
        None,
        Some("sha256=0000000000000000000000000000000000000000000000000000000000000000".to_owned()),
        Some("sha1=0a4d55a8d778e5022fab701977c5d840bbc486d0".to_owned()),
        Some(sign(b"wrong-secret", &body)),
        Some(good.to_uppercase()),
    ];
    for (i, sig) in cases.into_iter().enumerate() {
        let (st, _) = send(
            &s,
            req(
                &format!("x{i}"),
                "issue_comment",
                body.clone(),
                sig,
                "application/json",
            ),
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "case {i}");
    }
    // A valid delivery after them: once the handler has run it, the refused ones would have
    // run before it, had they been queued.
    let (st, _) = send(
        &s,
        signed("valid", "issue_comment", "issue_comment.created.json"),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    settle(&rec, 1).await;
    assert_eq!(ids(&rec), ["valid"]);
    assert_eq!(s.metrics().count("issue_comment", "bad_signature"), 5);
}

#[tokio::test]
async fn oversized_and_wrong_content_type() {
    let rec = Arc::new(Recorder::default());
    let mut c = ServeConfig::new(SECRET.to_vec());
    c.body_limit = 1024;
    c.handlers.insert("issue_comment".into(), rec.clone());
    let s = Server::new(c);
    let big = vec![b' '; 2048];
    let sig = sign(SECRET, &big);
    let (st, _) = send(
        &s,
        req("big", "issue_comment", big, Some(sig), "application/json"),
    )
    .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    let body = b"payload=%7B%7D".to_vec();
    let sig = sign(SECRET, &body);
    let (st, _) = send(
        &s,
        req(
            "form",
            "issue_comment",
            body,
            Some(sig),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(rec.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn duplicate_delivery_is_a_noop() {
    let rec = Arc::new(Recorder::default());
    let s = server_with(rec.clone(), 8);
    let _w = s.start_workers();
    let (a, _) = send(
        &s,
        signed("same", "workflow_job", "workflow_job.queued.json"),
    )
    .await;
    let (b, body) = send(
        &s,
        signed("same", "workflow_job", "workflow_job.queued.json"),
    )
    .await;
    assert_eq!(a, StatusCode::ACCEPTED);
    assert_eq!(b, StatusCode::OK);
    assert!(body.contains("duplicate"));
    // Another delivery after the duplicate: once both accepted ones ran, a queued duplicate
    // would have too.
    let (c, _) = send(
        &s,
        signed("other", "workflow_job", "workflow_job.queued.json"),
    )
    .await;
    assert_eq!(c, StatusCode::ACCEPTED);
    settle(&rec, 2).await;
    assert_eq!(ids(&rec), ["other", "same"]);
}

#[tokio::test]
async fn full_queue_answers_503_and_the_redelivery_is_accepted_later() {
    let rec = Arc::new(Recorder::default());
    let s = server_with(rec.clone(), 1);
    // Workers not started yet: the queue holds one delivery.
    let (a, _) = send(
        &s,
        signed("q1", "issue_comment", "issue_comment.created.json"),
    )
    .await;
    let (b, _) = send(
        &s,
        signed("q2", "issue_comment", "issue_comment.created.json"),
    )
    .await;
    assert_eq!(a, StatusCode::ACCEPTED);
    assert_eq!(b, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(s.metrics().count("issue_comment", "queue_full"), 1);
    let _w = s.start_workers();
    settle(&rec, 1).await;
    // GitHub redelivers q2 with the same id: accepted now, not taken for a duplicate.
    let (c, _) = send(
        &s,
        signed("q2", "issue_comment", "issue_comment.created.json"),
    )
    .await;
    assert_eq!(c, StatusCode::ACCEPTED);
    settle(&rec, 2).await;
    let ids: Vec<String> = rec
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|x| x.1.clone())
        .collect();
    assert_eq!(ids, ["q1", "q2"]);
}

#[tokio::test]
async fn malformed_payload_is_400_and_unknown_events_are_acknowledged() {
    let rec = Arc::new(Recorder::default());
    let s = server_with(rec.clone(), 8);
    let body = br#"{"action":"created"}"#.to_vec();
    let sig = sign(SECRET, &body);
    let (st, msg) = send(
        &s,
        req("m1", "issue_comment", body, Some(sig), "application/json"),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(msg.contains("issue"), "names the missing field: {msg}");
    let (st, _) = send(
        &s,
        signed("p1", "check_suite", "check_suite.requested.json"),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED);
    assert!(rec.seen.lock().unwrap().is_empty());
}

/// Wants only bodies containing `want`; records what it was shown and what it handled.
struct Picky {
    rec: Recorder,
    shown: Mutex<usize>,
}

impl Handler for Picky {
    fn handle(&self, d: Delivery) -> HandlerFuture {
        self.rec.handle(d)
    }
    fn wants(&self, body: &[u8]) -> bool {
        *self.shown.lock().unwrap() += 1;
        body.windows(4).any(|w| w == b"want")
    }
}

#[tokio::test]
async fn deliveries_a_handler_does_not_want_are_acknowledged_unqueued() {
    let picky = Arc::new(Picky {
        rec: Recorder::default(),
        shown: Mutex::new(0),
    });
    let mut c = ServeConfig::new(SECRET.to_vec());
    c.queue_capacity = 1;
    c.handlers.insert("issue_comment".into(), picky.clone());
    let s = Server::new(c);
    // Not wanted: 202 without parsing (this body would be a 400) or taking the one queue slot.
    let body = br#"{"action":"created","note":"skip me"}"#.to_vec();
    let sig = sign(SECRET, &body);
    let (st, msg) = send(
        &s,
        req("k1", "issue_comment", body, Some(sig), "application/json"),
    )
    .await;
    assert_eq!(
        (st, msg.as_str()),
        (StatusCode::ACCEPTED, "nothing to do\n")
    );
    // A bad signature is rejected before the handler is even asked.
    let (st, _) = send(
        &s,
        req(
            "k2",
            "issue_comment",
            b"want".to_vec(),
            Some(sign(b"other", b"want")),
            "application/json",
        ),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(*picky.shown.lock().unwrap(), 1);
    // Wanted: parsed and queued as before; the queue still had its slot.
    let mut v: serde_json::Value =
        serde_json::from_slice(&fixture_bytes("issue_comment.created.json")).unwrap();
    v["comment"]["body"] = "I want this".into();
    let body = serde_json::to_vec(&v).unwrap();
    let sig = sign(SECRET, &body);
    let (st, msg) = send(
        &s,
        req("k3", "issue_comment", body, Some(sig), "application/json"),
    )
    .await;
    assert_eq!((st, msg.as_str()), (StatusCode::ACCEPTED, "accepted\n"));
    assert_eq!(*picky.shown.lock().unwrap(), 2);
    let text = s.metrics().render();
    for line in [
        "ghops_webhook_deliveries_total{event=\"issue_comment\",outcome=\"skipped\"} 1",
        "ghops_webhook_deliveries_total{event=\"issue_comment\",outcome=\"accepted\"} 1",
        "ghops_queue_depth 1",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    let w = s.start_workers();
    s.close_queue();
    w.await.unwrap();
    let seen = picky.rec.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, "k3");
}

#[tokio::test]
async fn shutdown_drains_queued_work() {
    let rec = Arc::new(Recorder {
        delay: Duration::from_millis(30),
        ..Default::default()
    });
    let s = server_with(rec.clone(), 16);
    for i in 0..6 {
        let (st, _) = send(
            &s,
            signed(
                &format!("s{i}"),
                "issue_comment",
                "issue_comment.created.json",
            ),
        )
        .await;
        assert_eq!(st, StatusCode::ACCEPTED);
    }
    let w = s.start_workers();
    s.close_queue();
    // After closing, new deliveries are refused with 503, queued ones still run.
    let (st, _) = send(
        &s,
        signed("late", "issue_comment", "issue_comment.created.json"),
    )
    .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::timeout(Duration::from_secs(5), w)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.seen.lock().unwrap().len(), 6);
}

#[tokio::test]
async fn health_ready_and_metrics() {
    let rec = Arc::new(Recorder::default());
    let ready = Arc::new(AtomicBool::new(false));
    let mut c = ServeConfig::new(SECRET.to_vec());
    c.ready = ready.clone();
    c.handlers.insert("issue_comment".into(), rec);
    let s = Server::new(c);
    let get = |p: &str| Request::get(p).body(Body::empty()).unwrap();
    assert_eq!(send(&s, get("/healthz")).await.0, StatusCode::OK);
    assert_eq!(
        send(&s, get("/readyz")).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    ready.store(true, Ordering::Relaxed);
    assert_eq!(send(&s, get("/readyz")).await.0, StatusCode::OK);
    send(
        &s,
        signed("m", "issue_comment", "issue_comment.created.json"),
    )
    .await;
    let (st, text) = send(&s, get("/metrics")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        text.contains(
            "ghops_webhook_deliveries_total{event=\"issue_comment\",outcome=\"accepted\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("ghops_queue_depth 1"), "{text}");
    // The same answers through the probe a separate health listener serves.
    let probe = s.probe();
    assert!(probe.ready());
    assert_eq!(probe.metrics(), text);
}

#[tokio::test]
async fn redelivery_pass_asks_only_for_failed_not_yet_redelivered() {
    use gh_core::auth::{Credentials, SecretString, TokenSource};
    use gh_core::client::{ClientConfig, GitHub};
    use gh_core::retry::RetryPolicy;
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};

    let gh = MockGitHub::start().await;
    Mock::given(method("GET"))
        .and(path("/app/hook/deliveries"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 11, "guid": "g1", "delivered_at": "2026-11-01T00:00:01Z", "redelivery": false, "status_code": 502, "status": "502", "event": "issue_comment", "action": "created", "duration": 1.0, "installation_id": 1, "repository_id": 1},
            {"id": 12, "guid": "g2", "delivered_at": "2026-11-01T00:00:02Z", "redelivery": false, "status_code": 202, "status": "OK", "event": "push", "action": null, "duration": 1.0, "installation_id": 1, "repository_id": 1},
            {"id": 13, "guid": "g3", "delivered_at": "2026-11-01T00:00:03Z", "redelivery": false, "status_code": 503, "status": "503", "event": "workflow_job", "action": "queued", "duration": 1.0, "installation_id": 1, "repository_id": 1},
            {"id": 14, "guid": "g3", "delivered_at": "2026-11-01T00:00:04Z", "redelivery": true, "status_code": 503, "status": "503", "event": "workflow_job", "action": "queued", "duration": 1.0, "installation_id": 1, "repository_id": 1}
        ])))
        .mount(&gh.server)
        .await;
    Mock::given(method("POST"))
        .and(path("/app/hook/deliveries/11/attempts"))
        .respond_with(ResponseTemplate::new(202).set_body_json(json!({})))
        .mount(&gh.server)
        .await;
    let client = GitHub::connect(ClientConfig {
        api_url: gh.uri(),
        retry: RetryPolicy::fast(),
        ..ClientConfig::new(Credentials::Token {
            token: SecretString::from("t".to_owned()),
            source: TokenSource::Flag,
        })
    })
    .await
    .unwrap();
    let report = ghops_serve::redeliver::redeliver_failed(&client, 3, 10)
        .await
        .unwrap();
    assert_eq!(report.requested, [11]);
    gh.assert_lines(&[
        "GET /app/hook/deliveries?per_page=100",
        "POST /app/hook/deliveries/11/attempts",
    ])
    .await;
}

/// Each handler acts with a token of the delivery's installation, narrowed to what the handler
/// needs (intersected with what the installation was granted), minted once and cached.
#[tokio::test]
async fn handlers_get_narrowed_per_installation_tokens_minted_once() {
    use gh_core::auth::Credentials;
    use gh_core::client::ClientConfig;
    use gh_core::retry::RetryPolicy;
    use ghops_serve::{Installations, perms};
    use ghops_test_support::TEST_APP_KEY;
    use serde_json::{Value, json};
    use wiremock::matchers::{body_json, header, method, path};
    use wiremock::{Mock, ResponseTemplate};

    let gh = MockGitHub::start().await;
    for (id, granted) in [
        (
            1,
            json!({"contents": "read", "issues": "write", "actions": "read", "metadata": "read"}),
        ),
        (
            2,
            json!({"contents": "write", "issues": "write", "metadata": "read"}),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/app/installations/{id}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"id": id, "app_slug": "ghops", "permissions": granted})),
            )
            .mount(&gh.server)
            .await;
    }
    for (id, body, token) in [
        (
            1,
            json!({"permissions": {"contents": "read", "issues": "write"}}),
            "ghs_1_bridge",
        ),
        (
            1,
            json!({"permissions": {"actions": "read"}}),
            "ghs_1_runners",
        ),
        (
            2,
            json!({"permissions": {"contents": "write", "issues": "write"}}),
            "ghs_2_bridge",
        ),
    ] {
        Mock::given(method("POST"))
            .and(path(format!("/app/installations/{id}/access_tokens")))
            .and(body_json(body))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(json!({"token": token, "expires_at": "2999-01-01T00:00:00Z"})),
            )
            .expect(1)
            .mount(&gh.server)
            .await;
        Mock::given(method("GET"))
            .and(path("/repos/o/r"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token_used": token})))
            .mount(&gh.server)
            .await;
    }
    let mut base = ClientConfig::new(Credentials::App {
        app_id: 7,
        private_key: gh_core::auth::SecretString::from(TEST_APP_KEY.to_owned()),
    });
    base.api_url = gh.uri();
    base.retry = RetryPolicy::fast();
    let inst = Installations::new(base);
    let bridge = perms(&[
        ("contents", "write"),
        ("issues", "write"),
        ("members", "read"),
    ]);
    let runners = perms(&[("actions", "read")]);
    let used = |v: Value| v["token_used"].as_str().unwrap().to_owned();
    for (id, wanted, token) in [
        (1, &bridge, "ghs_1_bridge"),
        (1, &bridge, "ghs_1_bridge"),
        (1, &runners, "ghs_1_runners"),
        (2, &bridge, "ghs_2_bridge"),
        (2, &bridge, "ghs_2_bridge"),
    ] {
        let c = inst.client_with(Some(id), wanted).await.unwrap();
        assert_eq!(used(c.get("/repos/o/r").await.unwrap()), token);
    }
    gh.assert_lines(&[
        "GET /app/installations/1",
        "POST /app/installations/1/access_tokens",
        "GET /repos/o/r",
        "GET /repos/o/r",
        "GET /app/installations/1",
        "POST /app/installations/1/access_tokens",
        "GET /repos/o/r",
        "GET /app/installations/2",
        "POST /app/installations/2/access_tokens",
        "GET /repos/o/r",
        "GET /repos/o/r",
    ])
    .await;
}

/// Two replicas: only the leader runs the redelivery pass (issue 20, serve with replicas).
#[tokio::test]
async fn only_the_leader_replica_runs_the_redelivery_pass() {
    use gh_core::auth::Credentials;
    use gh_core::client::ClientConfig;
    use gh_core::retry::RetryPolicy;
    use ghops_serve::{App, Redelivery};
    use ghops_test_support::TEST_APP_KEY;
    use runner_orch::leader::Leadership;
    use serde_json::json;
    use std::time::{Duration, Instant};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};

    let mut replicas = Vec::new();
    let mut stops = Vec::new();
    for leader in [true, false] {
        let gh = MockGitHub::start().await;
        Mock::given(method("GET"))
            .and(path("/app/hook/deliveries"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
            .mount(&gh.server)
            .await;
        let mut base = ClientConfig::new(Credentials::App {
            app_id: 7,
            private_key: gh_core::auth::SecretString::from(TEST_APP_KEY.to_owned()),
        });
        base.api_url = gh.uri();
        base.retry = RetryPolicy::fast();
        let mut app = App::new(b"secret".to_vec(), base);
        app.leadership(Leadership::fixed(leader));
        app.redelivery(Redelivery {
            every: Duration::from_millis(20),
            max: 10,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run(listener, async {
            let _ = rx.await;
        }));
        replicas.push(gh);
        stops.push((tx, task));
    }
    async fn passes(gh: &MockGitHub) -> usize {
        gh.server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/app/hook/deliveries")
            .count()
    }
    // The follower checks as often as the leader passes (every 20 ms here): by the time the
    // leader made three passes, the follower had as many chances.
    let deadline = Instant::now() + Duration::from_secs(10);
    while passes(&replicas[0]).await < 3 {
        assert!(Instant::now() < deadline, "the leader never ran the pass");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(passes(&replicas[1]).await, 0, "a follower ran the pass");
    for (tx, task) in stops {
        let _ = tx.send(());
        task.await.unwrap().unwrap();
    }
}
