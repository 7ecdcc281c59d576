//! Benchmark (not a test): `cargo bench -p deploy-plan --bench plan`.
//!
//! Generates a synthetic tree (300 clusters × 10 hubs × 3 values files), changed lists of 10,
//! 1,000 and 20,000 paths, and prints the median time of the whole planning path in-process
//! (load the inventory, parse the list, plan, render JSON) and, when a release `ghops` binary
//! exists (`cargo build --release -p ghops`), of the whole process. Then the growth in
//! (hubs + paths) at 100, 200 and 300 clusters.

use std::path::Path;
use std::time::Duration;

use deploy_plan::paths::{ListFormat, parse_list};
use deploy_plan::{Inventory, PlanConfig, Planner, render, synth};

fn changed_list(all: &[String], n: usize) -> String {
    // A realistic mix: mostly files that map to nothing (docs, code), some values files.
    let mut out = String::new();
    for i in 0..n {
        if i % 10 == 0 {
            out.push_str(&all[(i * 7919) % all.len()]);
        } else {
            out.push_str(&format!("docs/section-{}/page-{i}.md\n", i % 50));
            continue;
        }
        out.push('\n');
    }
    out
}

fn in_process(root: &Path, list: &str) -> usize {
    let cfg = PlanConfig::default();
    let inv = Inventory::load(root, &cfg).unwrap();
    let paths = parse_list(list, ListFormat::Auto, "bench").unwrap();
    let plan = Planner::new(&inv, &cfg).unwrap().plan(&paths, &[]);
    render::to_json(&plan).len()
}

fn time<F: FnMut()>(runs: usize, f: F) -> Duration {
    ghops_test_support::median_time(runs, f).0
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let all = synth::generate(root, 300, 10, 3).unwrap();
    let bin = std::env::var("GHOPS_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/ghops")
        });
    println!("tree: 300 clusters, 3000 hubs, {} values files", all.len());
    for n in [10, 1_000, 20_000] {
        let list = changed_list(&all, n);
        let lf = root.join(format!("changed-{n}.txt"));
        std::fs::write(&lf, &list).unwrap();
        let t = time(15, || {
            std::hint::black_box(in_process(root, &list));
        });
        print!(
            "{n:>6} changed paths: in-process {:>7.2} ms",
            t.as_secs_f64() * 1e3
        );
        if bin.exists() {
            let t = time(15, || {
                let out = std::process::Command::new(&bin)
                    .args(["plan", "--json", "--config-root"])
                    .arg(root)
                    .arg("--changed-files")
                    .arg(&lf)
                    .output()
                    .unwrap();
                assert!(out.status.success());
            });
            print!(
                "   whole process ({}) {:>7.2} ms",
                bin.display(),
                t.as_secs_f64() * 1e3
            );
        }
        println!();
    }
    // Worst case: every values file changes (3,000 hub jobs, 300 support jobs), padded to
    // 20,000 paths with chart files.
    let mut list: String = all.iter().map(|p| format!("{p}\n")).collect();
    for i in all.len()..20_000 {
        list.push_str(&format!("helm-charts/images/file-{i}.txt\n"));
    }
    let t = time(15, || {
        std::hint::black_box(in_process(root, &list));
    });
    println!(
        "20000 changed paths, every values file (3,300 jobs): in-process {:>7.2} ms",
        t.as_secs_f64() * 1e3
    );
    println!("growth (20,000 changed paths):");
    for clusters in [100, 200, 300] {
        let d = tempfile::tempdir().unwrap();
        let all = synth::generate(d.path(), clusters, 10, 3).unwrap();
        let list = changed_list(&all, 20_000);
        let t = time(9, || {
            std::hint::black_box(in_process(d.path(), &list));
        });
        println!(
            "  {clusters:>3} clusters ({:>4} hubs): {:>7.2} ms",
            clusters * 10,
            t.as_secs_f64() * 1e3
        );
    }
}
