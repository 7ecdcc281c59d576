//! Benchmark (not a test): `cargo bench -p ghops-pr-bridge --bench gate`.
//!
//! Prints the median time to decide on one real 16 KB `issue_comment` delivery (a comment on a
//! plain issue, a comment without the trigger on a PR, and a trigger comment, whose body is
//! parsed as Markdown to decide that the trigger is visible): fully decoded then gated (what a
//! workflow run does) against [`pr_bridge::gate::gate_raw`] on the raw body (what `ghops serve`
//! does before it queues anything).

use std::hint::black_box;
use std::time::Duration;

use gh_core::events::{Event, IssueCommentEvent};
use pr_bridge::gate::{gate, gate_raw};

fn median(f: impl FnMut()) -> Duration {
    ghops_test_support::median_time(2001, f).0
}

fn main() {
    let plain = include_bytes!("../../../testdata/webhooks/issue_comment.created.json").to_vec();
    let on_pr =
        include_bytes!("../../../testdata/webhooks/issue_comment.created.on-pr.derived.json")
            .to_vec();
    let (t, m) = ("/test-this-pr", "<!-- ghops:pr-bridge -->");
    let mut v: serde_json::Value = serde_json::from_slice(&on_pr).unwrap();
    v["comment"]["body"] = format!(
        "Thanks! I read every commit.\n\n<!-- a note -->\n> quoted text\n\n/test-this-pr sha={}\n",
        "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    )
    .into();
    let trigger = serde_json::to_vec(&v).unwrap();
    for (name, body) in [
        ("plain issue", &plain),
        ("PR, no trigger", &on_pr),
        ("PR, trigger", &trigger),
    ] {
        let full = median(|| {
            let Event::IssueComment(ev) = Event::parse("issue_comment", black_box(body)).unwrap()
            else {
                unreachable!()
            };
            let ev: &IssueCommentEvent = &ev;
            black_box(gate(ev, t, m));
        });
        let raw = median(|| {
            black_box(gate_raw(black_box(body), t, m).unwrap());
        });
        println!(
            "{name} ({} bytes): decode + gate {:.1} µs, gate_raw {:.1} µs ({:.1}x)",
            body.len(),
            full.as_secs_f64() * 1e6,
            raw.as_secs_f64() * 1e6,
            full.as_secs_f64() / raw.as_secs_f64()
        );
    }
}
