//! Benchmark (not a test): `cargo bench -p ghops-deploy-plan --bench plan`.
//!
//! Runs the release `ghops` binary (`cargo build --release -p ghops`, or `$GHOPS_BIN`) as a
//! whole process, `ghops plan --json`, on generated trees (30, 300 and 3,000 clusters × 10
//! hubs × 3 values files) with changed lists of 10, 1,000 and 20,000 paths (one in ten a
//! values file spread over the tree, the rest docs pages), and 10 values files of the first
//! ten clusters (the same paths on every tree). Prints the median wall time of 15 runs and
//! the peak resident memory of the process. Each configuration is measured in a fresh
//! helper process (this bench re-run), so the peak is that configuration's own.
//!
//! Then, in-process, the planning path alone (plan_tree + JSON) on the 300-cluster tree.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use deploy_plan::paths::{ListFormat, parse_list};
use deploy_plan::{PlanConfig, plan_tree, render, synth};

const RUNS: usize = 15;

fn mixed_list(all: &[String], n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        if i % 10 == 0 {
            out.push_str(&all[(i * 7919) % all.len()]);
        } else {
            out.push_str(&format!("docs/section-{}/page-{i}.md", i % 50));
        }
        out.push('\n');
    }
    out
}

fn first_clusters_values(n: usize) -> String {
    (0..n)
        .map(|c| format!("config/clusters/cluster-{c:04}/hub-001.0.values.yaml\n"))
        .collect()
}

fn ghops_bin() -> PathBuf {
    std::env::var("GHOPS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/ghops")
        })
}

/// Helper mode: run ghops RUNS times on (root, list); print "median_ms peak_kib".
fn measure(bin: &Path, root: &Path, list: &Path) {
    let (t, _) = ghops_test_support::median_time(RUNS, || {
        let status = Command::new(bin)
            .args(["plan", "--json", "--config-root"])
            .arg(root)
            .arg("--changed-files")
            .arg(list)
            .stdout(Stdio::null())
            .status()
            .expect("run ghops");
        assert!(status.success(), "ghops plan failed");
    });
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    println!("{:.2} {}", t.as_secs_f64() * 1e3, usage.max_rss());
}

fn whole_process(bin: &Path, root: &Path, list: &Path) -> (f64, u64) {
    let out = Command::new(std::env::current_exe().expect("bench exe"))
        .env("PLAN_BENCH_MEASURE", "1")
        .env("GHOPS_BIN", bin)
        .env("PLAN_BENCH_ROOT", root)
        .env("PLAN_BENCH_LIST", list)
        .output()
        .expect("run the measuring helper");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let ms = it.next().and_then(|s| s.parse().ok()).expect("median");
    let kib = it.next().and_then(|s| s.parse().ok()).expect("peak");
    (ms, kib)
}

fn main() {
    if std::env::var_os("PLAN_BENCH_MEASURE").is_some() {
        let var = |k: &str| PathBuf::from(std::env::var_os(k).expect(k));
        measure(
            &var("GHOPS_BIN"),
            &var("PLAN_BENCH_ROOT"),
            &var("PLAN_BENCH_LIST"),
        );
        return;
    }
    let bin = ghops_bin();
    let have_bin = bin.exists();
    if !have_bin {
        println!(
            "{} not found: `cargo build --release -p ghops` (or set GHOPS_BIN) for the whole-process figures",
            bin.display()
        );
    }
    // (label, None = 10 values files of the first ten clusters | Some(n) = n mixed paths)
    let lists: [(&str, Option<usize>); 4] = [
        ("10 values files (first 10 clusters)", None),
        ("10 paths (mixed)", Some(10)),
        ("1,000 paths (mixed)", Some(1_000)),
        ("20,000 paths (mixed)", Some(20_000)),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let mut tree300 = None;
    if have_bin {
        println!("whole `ghops plan --json` process, median of {RUNS} runs, peak RSS:");
    }
    for clusters in [30, 300, 3_000] {
        let root = dir.path().join(format!("tree-{clusters}"));
        let all = synth::generate(&root, clusters, 10, 3).expect("generate tree");
        if clusters == 300 {
            tree300 = Some((root.clone(), all.clone()));
        }
        if !have_bin {
            continue;
        }
        for (name, n) in lists {
            let lf = root.join("changed.txt");
            let list = match n {
                None => first_clusters_values(10),
                Some(n) => mixed_list(&all, n),
            };
            std::fs::write(&lf, list).expect("write list");
            let (ms, kib) = whole_process(&bin, &root, &lf);
            println!(
                "  {clusters:>5} clusters × 10 hubs, {name:<38} {ms:>8.2} ms  {:>6.1} MiB",
                kib as f64 / 1024.0
            );
        }
    }
    let (root, all) = tree300.expect("300-cluster tree");
    println!("in-process (plan_tree + JSON), 300 clusters × 10 hubs:");
    for n in [10, 1_000, 20_000] {
        let list = mixed_list(&all, n);
        let t: Duration = ghops_test_support::median_time(RUNS, || {
            let cfg = PlanConfig::default();
            let paths = parse_list(&list, ListFormat::Auto, "bench").expect("list");
            let t = plan_tree(&root, &cfg, &paths, &[]).expect("plan");
            render::to_json(&t.plan).len()
        })
        .0;
        println!("  {n:>6} paths: {:>8.2} ms", t.as_secs_f64() * 1e3);
    }
}
