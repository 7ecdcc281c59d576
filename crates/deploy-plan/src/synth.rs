//! A synthetic config tree for benchmarks and property tests: `clusters` clusters of `hubs`
//! hubs with `files` values files each (one staging hub per cluster, mixed charts).

use std::path::Path;

/// Writes the tree under `root`; returns every values file path (relative to `root`).
pub fn generate(
    root: &Path,
    clusters: usize,
    hubs: usize,
    files: usize,
) -> std::io::Result<Vec<String>> {
    let charts = ["basehub", "daskhub", "binderhub"];
    let mut all = Vec::new();
    for c in 0..clusters {
        let name = format!("cluster-{c:04}");
        let dir = root.join("config/clusters").join(&name);
        std::fs::create_dir_all(&dir)?;
        let mut y = format!(
            "name: {name}\nprovider: {}\n",
            ["gcp", "aws", "azure"][c % 3]
        );
        y.push_str("support:\n  helm_chart_values_files:\n    - support.values.yaml\n");
        all.push(format!("config/clusters/{name}/support.values.yaml"));
        y.push_str("hubs:\n");
        for h in 0..hubs {
            let hub = if h == 0 {
                "staging".to_owned()
            } else {
                format!("hub-{h:03}")
            };
            y.push_str(&format!(
                "  - name: {hub}\n    helm_chart: {}\n    helm_chart_values_files:\n",
                charts[h % charts.len()]
            ));
            for f in 0..files {
                let file = format!("{hub}.{f}.values.yaml");
                y.push_str(&format!("      - {file}\n"));
                all.push(format!("config/clusters/{name}/{file}"));
            }
        }
        std::fs::write(dir.join("cluster.yaml"), y)?;
    }
    Ok(all)
}
