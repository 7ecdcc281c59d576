//! Benchmark (not a test): `cargo bench -p ghops-serve --bench verify`.
//!
//! The floor of `ghops serve`'s CPU per delivery that user space cannot go below: the
//! `X-Hub-Signature-256` check, an HMAC-SHA-256 over the whole body
//! ([`gh_core::webhook::verify`], the function the server calls). Prints the median time for
//! the real 16 KB `issue_comment` payload `scripts/bench-serve` sends, and the throughput on a
//! 1 MiB body.

use std::hint::black_box;

fn main() {
    let secret = b"bench-secret";
    let body = include_bytes!("../../../testdata/webhooks/issue_comment.created.json").to_vec();
    let big = vec![b'x'; 1024 * 1024];
    for (name, body, runs) in [("16 KB issue_comment", &body, 20_001), ("1 MiB", &big, 201)] {
        let sig = gh_core::webhook::sign(secret, body);
        let (t, ()) = ghops_test_support::median_time(runs, || {
            gh_core::webhook::verify(secret, black_box(body), Some(black_box(&sig))).unwrap();
        });
        println!(
            "verify {name} ({} bytes): {:.2} µs ({:.0} MB/s)",
            body.len(),
            t.as_secs_f64() * 1e6,
            body.len() as f64 / t.as_secs_f64() / 1e6
        );
    }
}
