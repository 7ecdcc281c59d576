//! Hostile-input limits of the webhook server: bounded metrics labels, rejection on headers
//! before the body is read, the in-flight body budget, timeouts, the connection cap, the hard
//! close at the drain deadline, and redelivery after a failed handler.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode};
use ghops_serve::{Delivery, Handler, HandlerFuture, ServeConfig, Server};
use ghops_test_support::{fixture_bytes, sign, wait_until};
use http_body_util::BodyExt;
use tower::ServiceExt;

const SECRET: &[u8] = b"topsecret";
const WELL_FORMED_BAD_SIG: &str =
    "sha256=0000000000000000000000000000000000000000000000000000000000000000";

async fn send(s: &Server, r: Request<Body>) -> (StatusCode, String) {
    let resp = s.router().oneshot(r).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn post(headers: &[(&str, &str)], body: Body) -> Request<Body> {
    let mut b = Request::post("/webhook");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body).unwrap()
}

/// A body that records whether anything polled it, and never ends.
fn watched_body(polled: Arc<AtomicBool>) -> Body {
    Body::from_stream(futures::stream::poll_fn(move |_| {
        polled.store(true, Ordering::SeqCst);
        std::task::Poll::<Option<Result<Bytes, std::io::Error>>>::Pending
    }))
}

/// Counts deliveries; fails the first `fail_first` of them.
#[derive(Default)]
struct Flaky {
    calls: AtomicUsize,
    fail_first: usize,
}

impl Handler for Flaky {
    fn handle(&self, _d: Delivery) -> HandlerFuture {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = n < self.fail_first;
        Box::pin(async move {
            if fail {
                Err("GitHub said 502".into())
            } else {
                Ok(())
            }
        })
    }
}

fn config() -> ServeConfig {
    let mut c = ServeConfig::new(SECRET.to_vec());
    c.handlers
        .insert("workflow_job".into(), Arc::new(Flaky::default()));
    c
}

/// Finding 2: the unauthenticated `X-GitHub-Event` header never becomes a label of its own.
#[tokio::test]
async fn unknown_event_names_are_counted_as_other() {
    let s = Server::new(config());
    let before = s.metrics().render().len();
    for i in 0..200 {
        let event = format!("{}{i}", "e".repeat(8 * 1024));
        let ctype = if i % 2 == 0 {
            "text/plain"
        } else {
            "application/json"
        };
        let (st, _) = send(
            &s,
            post(
                &[
                    ("content-type", ctype),
                    ("x-github-event", &event),
                    ("x-github-delivery", &format!("d{i}")),
                    ("x-hub-signature-256", WELL_FORMED_BAD_SIG),
                ],
                Body::from("{}"),
            ),
        )
        .await;
        assert!(
            st == StatusCode::UNSUPPORTED_MEDIA_TYPE || st == StatusCode::UNAUTHORIZED,
            "{st}"
        );
    }
    // Known names and configured routes keep their label.
    for event in ["star", "workflow_job"] {
        send(
            &s,
            post(
                &[
                    ("content-type", "text/plain"),
                    ("x-github-event", event),
                    ("x-github-delivery", "k"),
                ],
                Body::from("{}"),
            ),
        )
        .await;
    }
    let text = s.metrics().render();
    assert!(
        text.len() < before + 1024,
        "metrics grew by {} bytes",
        text.len() - before
    );
    for line in [
        "ghops_webhook_deliveries_total{event=\"other\",outcome=\"bad_content_type\"} 100",
        "ghops_webhook_deliveries_total{event=\"other\",outcome=\"bad_signature\"} 100",
        "ghops_webhook_deliveries_total{event=\"star\",outcome=\"bad_content_type\"} 1",
        "ghops_webhook_deliveries_total{event=\"workflow_job\",outcome=\"bad_content_type\"} 1",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
}

/// Finding 3: what the headers can refuse is refused without reading a byte of the body.
#[tokio::test]
async fn refused_on_headers_before_the_body_is_read() {
    let s = Server::new(config());
    let good = sign(SECRET, b"{}");
    let cases: [(&[(&str, &str)], StatusCode); 6] = [
        (
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("x-github-event", "workflow_job"),
                ("x-github-delivery", "a"),
                ("x-hub-signature-256", &good),
            ],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            &[
                ("content-type", "application/json"),
                ("x-github-event", "workflow_job"),
                ("x-github-delivery", "b"),
            ],
            StatusCode::UNAUTHORIZED,
        ),
        (
            &[
                ("content-type", "application/json"),
                ("x-github-event", "workflow_job"),
                ("x-github-delivery", "c"),
                (
                    "x-hub-signature-256",
                    "sha1=0a4d55a8d778e5022fab701977c5d840bbc486d0",
                ),
            ],
            StatusCode::UNAUTHORIZED,
        ),
        (
            &[
                ("content-type", "application/json"),
                ("x-github-event", "workflow_job"),
                ("x-github-delivery", "d"),
                ("x-hub-signature-256", "sha256=zz"),
            ],
            StatusCode::UNAUTHORIZED,
        ),
        (
            &[
                ("content-type", "application/json"),
                ("x-github-event", "workflow_job"),
                ("x-hub-signature-256", &good),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            &[
                ("content-type", "application/json"),
                ("x-github-event", "workflow_job"),
                ("x-github-delivery", "f"),
                ("x-hub-signature-256", &good),
                ("content-length", "26214401"),
            ],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (i, (headers, want)) in cases.into_iter().enumerate() {
        let polled = Arc::new(AtomicBool::new(false));
        let (st, _) = tokio::time::timeout(
            Duration::from_secs(5),
            send(&s, post(headers, watched_body(polled.clone()))),
        )
        .await
        .unwrap_or_else(|_| panic!("case {i}: waited for the body"));
        assert_eq!(st, want, "case {i}");
        assert!(!polled.load(Ordering::SeqCst), "case {i}: body was read");
    }
    let m = s.metrics();
    assert_eq!(m.count("workflow_job", "bad_signature"), 3);
    assert_eq!(m.count("workflow_job", "too_large"), 1);
    assert_eq!(m.count("workflow_job", "bad_request"), 1);
}

/// Finding 3: bodies being read share one byte budget; a body that does not fit is refused
/// with 503 before it is read, and the budget is given back when a request is done.
#[tokio::test]
async fn in_flight_body_bytes_are_capped() {
    let mut c = config();
    c.body_limit = 600;
    c.max_inflight_body_bytes = 1000;
    let s = Arc::new(Server::new(c));
    let headers = |id: &'static str, len: &'static str| {
        [
            ("content-type", "application/json"),
            ("x-github-event", "workflow_job"),
            ("x-github-delivery", id),
            ("x-hub-signature-256", WELL_FORMED_BAD_SIG),
            ("content-length", len),
        ]
    };
    // A 600-byte body whose bytes have not arrived yet holds 600 of the 1000.
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, std::io::Error>>();
    // The server reserves a declared length before it reads a byte: once the body is polled,
    // the 600 are held.
    let slow_read = Arc::new(AtomicBool::new(false));
    let flag = slow_read.clone();
    let body = futures::StreamExt::chain(
        futures::stream::once(async move {
            flag.store(true, Ordering::SeqCst);
            Ok(Bytes::new())
        }),
        rx,
    );
    let slow = {
        let s = s.clone();
        tokio::spawn(async move {
            send(&s, post(&headers("slow", "600"), Body::from_stream(body))).await
        })
    };
    wait_until("the slow body being read", || {
        slow_read.load(Ordering::SeqCst)
    })
    .await;
    let polled = Arc::new(AtomicBool::new(false));
    let (st, _) = send(
        &s,
        post(&headers("second", "600"), watched_body(polled.clone())),
    )
    .await;
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!polled.load(Ordering::SeqCst), "refused before reading");
    // A small one still fits.
    let (st, _) = send(&s, post(&headers("small", "2"), Body::from("{}"))).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    tx.unbounded_send(Ok(Bytes::from(vec![b' '; 600]))).unwrap();
    drop(tx);
    assert_eq!(slow.await.unwrap().0, StatusCode::UNAUTHORIZED);
    // Given back: the same size fits now.
    let (st, _) = send(
        &s,
        post(&headers("third", "600"), Body::from(vec![b' '; 600])),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(s.metrics().count("workflow_job", "busy"), 1);
    // Undeclared (chunked) bodies are counted as they arrive.
    let (st, _) = send(
        &s,
        post(
            &[
                ("content-type", "application/json"),
                ("x-github-event", "workflow_job"),
                ("x-github-delivery", "chunked"),
                ("x-hub-signature-256", WELL_FORMED_BAD_SIG),
            ],
            Body::from_stream(futures::stream::iter(
                (0..7).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b' '; 100]))),
            )),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
}

/// Finding 13: a delivery accepted with 202 whose handler then fails is forgotten, so that
/// GitHub's redelivery of the same id is handled instead of answered "duplicate".
#[tokio::test]
async fn a_failed_delivery_is_handled_again_when_redelivered() {
    let flaky = Arc::new(Flaky {
        fail_first: 1,
        ..Default::default()
    });
    let mut c = ServeConfig::new(SECRET.to_vec());
    c.handlers.insert("workflow_job".into(), flaky.clone());
    let s = Server::new(c);
    let _w = s.start_workers();
    let body = fixture_bytes("workflow_job.queued.json");
    let sig = sign(SECRET, &body);
    let deliver = || {
        post(
            &[
                ("content-type", "application/json"),
                ("x-github-event", "workflow_job"),
                ("x-github-delivery", "redeliver-me"),
                ("x-hub-signature-256", &sig),
            ],
            Body::from(body.clone()),
        )
    };
    assert_eq!(send(&s, deliver()).await.0, StatusCode::ACCEPTED);
    let m = s.metrics();
    wait_until("the handler's failure", || {
        m.count("workflow_job", "failed") > 0
    })
    .await;
    let (st, msg) = send(&s, deliver()).await;
    assert_eq!((st, msg.as_str()), (StatusCode::ACCEPTED, "accepted\n"));
    wait_until("the redelivery handled", || {
        m.count("workflow_job", "handled") > 0
    })
    .await;
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);
    // Handled: now it is a duplicate.
    assert_eq!(send(&s, deliver()).await.0, StatusCode::OK);
}

/// A server on a real socket; `stop` triggers its shutdown; `done` ends with `run`.
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn running(c: ServeConfig) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = Server::new(c);
    let done = tokio::spawn(server.run(listener, async {
        let _ = rx.await;
    }));
    Running {
        addr,
        stop: Some(tx),
        done,
    }
}

/// Reads until the server closes the connection (blocking, bounded by `limit`); returns what
/// was read and how long it took.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("still open after {limit:?}: {e}"),
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), start.elapsed())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Finding 4: partial headers, an idle keep-alive connection and a trickled body are all cut
/// off by their timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let mut c = config();
    c.header_timeout = Duration::from_millis(300);
    c.request_timeout = Duration::from_millis(300);
    let r = running(c).await;
    let addr = r.addr;
    blocking(move || {
        // Partial headers.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: pu")
            .unwrap();
        let (_, took) = read_until_closed(&mut s, Duration::from_secs(5));
        assert!(took < Duration::from_secs(3), "{took:?}");
        // Idle after a complete request on a keep-alive connection.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let (text, took) = read_until_closed(&mut s, Duration::from_secs(5));
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        // Headers in, body trickled: 408.
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(
            format!(
                "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: t\r\nX-Hub-Signature-256: {WELL_FORMED_BAD_SIG}\r\nContent-Length: 1000\r\n\r\n{{\"a\":"
            )
            .as_bytes(),
        )
        .unwrap();
        let (text, took) = read_until_closed(&mut s, Duration::from_secs(5));
        assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        assert!(took < Duration::from_secs(3), "{took:?}");
    })
    .await;
}

/// Finding 4: past the connection cap, connections wait (in the listen backlog) until one
/// closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_are_capped() {
    let mut c = config();
    c.max_connections = 2;
    c.header_timeout = Duration::from_secs(60);
    let r = running(c).await;
    let addr = r.addr;
    blocking(move || {
        let get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        let mut a = TcpStream::connect(addr).unwrap();
        a.write_all(get).unwrap();
        let mut b = TcpStream::connect(addr).unwrap();
        b.write_all(get).unwrap();
        let mut buf = [0u8; 512];
        for s in [&mut a, &mut b] {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            assert!(s.read(&mut buf).unwrap() > 0);
        }
        // Both kept alive: a third connection is not served...
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(get).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        assert!(c.read(&mut buf).is_err(), "served past the cap");
        // ...until one of them closes.
        drop(a);
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let n = c.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    })
    .await;
}

/// Finding 4: shutdown does not wait for a slow client past the drain deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_at_the_drain_deadline() {
    let mut c = config();
    c.header_timeout = Duration::from_secs(60);
    c.request_timeout = Duration::from_secs(60);
    c.drain_timeout = Duration::from_millis(500);
    let mut r = running(c).await;
    let addr = r.addr;
    // One client stuck in its headers, one in its body.
    let mut stuck = Vec::new();
    for part in [
        "POST /webhook HTTP/1.1\r\nHost: x\r\nX-Git".to_owned(),
        format!(
            "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-GitHub-Delivery: t\r\nX-Hub-Signature-256: {WELL_FORMED_BAD_SIG}\r\nContent-Length: 1000\r\n\r\n{{"
        ),
    ] {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(part.as_bytes()).unwrap();
        stuck.push(s);
    }
    // A complete request on a later connection, answered: the server has accepted the stuck
    // ones (connections are accepted in order) and is reading them.
    let (answer, _) = blocking(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        read_until_closed(&mut s, Duration::from_secs(5))
    })
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let start = Instant::now();
    r.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), &mut r.done)
        .await
        .expect("shutdown waited for slow clients")
        .unwrap()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(3));
    blocking(move || {
        for mut s in stuck {
            read_until_closed(&mut s, Duration::from_secs(2));
        }
    })
    .await;
}

/// Finding 15: a slow mint for one (installation, permission set) does not hold up clients
/// of other installations, and concurrent deliveries for the same one share a single mint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_mints_block_only_their_own_installation_and_are_shared() {
    use gh_core::auth::Credentials;
    use gh_core::client::ClientConfig;
    use gh_core::retry::RetryPolicy;
    use ghops_serve::{Installations, perms};
    use ghops_test_support::{MockGitHub, TEST_APP_KEY};
    use serde_json::json;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};

    let gh = MockGitHub::start().await;
    for (id, delay) in [(1, Duration::from_millis(3000)), (2, Duration::ZERO)] {
        Mock::given(method("GET"))
            .and(path(format!("/app/installations/{id}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"id": id, "app_slug": "ghops", "permissions": {"issues": "write"}}),
            ))
            .expect(1)
            .mount(&gh.server)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("/app/installations/{id}/access_tokens")))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(
                        json!({"token": format!("ghs_{id}"), "expires_at": "2999-01-01T00:00:00Z"}),
                    )
                    .set_delay(delay),
            )
            .expect(1)
            .mount(&gh.server)
            .await;
    }
    let mut base = ClientConfig::new(Credentials::App {
        app_id: 7,
        private_key: gh_core::auth::SecretString::from(TEST_APP_KEY.to_owned()),
    });
    base.api_url = gh.uri();
    base.retry = RetryPolicy::fast();
    let inst = Arc::new(Installations::new(base));
    let wanted = perms(&[("issues", "write")]);
    let slow: Vec<_> = (0..3)
        .map(|_| {
            let (inst, wanted) = (inst.clone(), wanted.clone());
            tokio::spawn(async move { inst.client_with(Some(1), &wanted).await.map(|_| ()) })
        })
        .collect();
    // Installation 1's mint is under way (and held up by its 3 s answer).
    gh.wait_for_requests(1, |r| r.path == "/app/installations/1/access_tokens")
        .await;
    let start = Instant::now();
    inst.client_with(Some(2), &wanted).await.unwrap();
    let other = start.elapsed();
    let still_minting = slow.iter().filter(|h| !h.is_finished()).count();
    for h in slow {
        h.await.unwrap().unwrap();
    }
    assert!(
        other < Duration::from_millis(2000),
        "installation 2 waited {other:?} for installation 1's mint"
    );
    assert_eq!(still_minting, 3, "installation 1's mint had not finished");
    // `expect(1)` on each mint: the three concurrent calls for installation 1 shared one.
    gh.server.verify().await;
}
