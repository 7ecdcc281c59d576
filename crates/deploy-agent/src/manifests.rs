//! Kubernetes manifests for running the agent (`ghops agent manifests`).

/// Where the manifests mount things: the agent's flags point at these.
pub const CONFIG_DIR: &str = "/etc/ghops/config";
/// The hooks ConfigMap is mounted here, at `--hooks-dir` itself (ConfigMap keys are flat).
pub const HOOKS_DIR: &str = "/etc/ghops/hooks";
/// The state volume (journal, heartbeat, hook logs).
pub const STATE_DIR: &str = "/var/lib/ghops";
/// The port of `--metrics-bind` (`/metrics`, `/healthz`, `/readyz`), which the probes use.
pub const METRICS_PORT: u16 = 9090;

/// A working set: ServiceAccount (no token), Secret template (the token), ConfigMap with
/// `ghops.toml`, ConfigMap with the hooks (mounted at `--hooks-dir`, executable), the journal's
/// PersistentVolumeClaim, and a one-replica Deployment with HTTP liveness and readiness probes on
/// `--metrics-bind` (and Prometheus scrape annotations).
pub fn kubernetes(namespace: &str, image: &str) -> String {
    format!(
        r#"# ghops agent: pull-based deploy agent. One replica: the journal on the volume keeps a crash from repeating a deploy.
# Hooks run in the agent's container as its (non-root) user: ghops is non-dumpable and keeps
# no credential in its environment, and no credential is on disk here (GH_TOKEN comes from the
# Secret as a variable), so a hook cannot take it. See docs/security.md.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ghops-agent
  namespace: {namespace}
automountServiceAccountToken: false
---
# Replace the token (deployments: write), or create the Secret yourself:
#   kubectl -n {namespace} create secret generic ghops-agent --from-literal=token=...
apiVersion: v1
kind: Secret
metadata:
  name: ghops-agent
  namespace: {namespace}
type: Opaque
stringData:
  token: REPLACE-WITH-A-TOKEN
---
# ghops.toml, mounted at {CONFIG_DIR}. Paths in it are absolute: the container's.
apiVersion: v1
kind: ConfigMap
metadata:
  name: ghops-agent
  namespace: {namespace}
data:
  ghops.toml: |
    [agent]
    agent_id = "k8s-{namespace}"
    [[agent.targets]]
    repo = "OWNER/REPO"
    environment = "production"
---
# The hooks, one key per hook, mounted at --hooks-dir ({HOOKS_DIR}) and executable
# (defaultMode 0755). `kubectl create configmap ghops-agent-hooks --from-file=hooks/` builds
# it from a folder.
apiVersion: v1
kind: ConfigMap
metadata:
  name: ghops-agent-hooks
  namespace: {namespace}
data:
  deploy: |
    #!/bin/sh
    set -eu
    echo "deploying $GHOPS_SHA to $GHOPS_ENVIRONMENT"
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ghops-agent-state
  namespace: {namespace}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {{storage: 1Gi}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ghops-agent
  namespace: {namespace}
spec:
  replicas: 1
  strategy: {{type: Recreate}}
  selector:
    matchLabels: {{app.kubernetes.io/name: ghops-agent}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: ghops-agent}}
      annotations: {{prometheus.io/scrape: "true", prometheus.io/port: "{METRICS_PORT}", prometheus.io/path: /metrics}}
    spec:
      serviceAccountName: ghops-agent
      # The agent talks to GitHub only; hooks that need the cluster get their own credentials.
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 60
      securityContext: {{runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
        - name: agent
          image: {image}
          args: ["agent", "run", "--config", "{CONFIG_DIR}/ghops.toml", "--state-dir", "{STATE_DIR}/state", "--log-dir", "{STATE_DIR}/logs", "--hooks-dir", "{HOOKS_DIR}", "--metrics-bind", "0.0.0.0:{METRICS_PORT}"]
          ports:
            - {{name: metrics, containerPort: {METRICS_PORT}}}
          env:
            - name: GH_TOKEN
              valueFrom: {{secretKeyRef: {{name: ghops-agent, key: token}}}}
          # /healthz fails when a target's loop made no progress (no pass or deployment started)
          # within the poll interval plus one deployment's worst case (three hooks, each up to
          # its timeout and the grace); /readyz turns ready after every target's first
          # successful pass.
          livenessProbe:
            httpGet: {{path: /healthz, port: metrics}}
            initialDelaySeconds: 10
            periodSeconds: 30
            failureThreshold: 3
          readinessProbe:
            httpGet: {{path: /readyz, port: metrics}}
            periodSeconds: 10
          volumeMounts:
            - {{name: state, mountPath: {STATE_DIR}}}
            - {{name: config, mountPath: {CONFIG_DIR}, readOnly: true}}
            - {{name: hooks, mountPath: {HOOKS_DIR}, readOnly: true}}
            - {{name: tmp, mountPath: /tmp}}
          securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
          # Hooks run in this container and count against these: size them for your hooks.
          resources:
            requests: {{cpu: 50m, memory: 64Mi}}
            limits: {{cpu: "1", memory: 512Mi}}
      volumes:
        - name: state
          persistentVolumeClaim: {{claimName: ghops-agent-state}}
        - name: config
          configMap: {{name: ghops-agent}}
        - name: hooks
          # 493 = 0755 (JSON has no octal): the hooks are executable.
          configMap: {{name: ghops-agent-hooks, defaultMode: 493}}
        - name: tmp
          emptyDir: {{sizeLimit: 1Gi}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_working_set() {
        let text = kubernetes("ghops", "ghcr.io/o/ghops:1.0.0-agent");
        let docs: Vec<serde_json::Value> = text
            .split("\n---\n")
            .map(|d| gh_core::config::parse_yaml(d, "manifests").unwrap())
            .collect();
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "ServiceAccount",
                "Secret",
                "ConfigMap",
                "ConfigMap",
                "PersistentVolumeClaim",
                "Deployment"
            ]
        );
        let pod = &docs[5]["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        let args: Vec<&str> = c["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let flag = |f: &str| args[args.iter().position(|a| *a == f).unwrap() + 1];
        // The hooks ConfigMap is mounted at --hooks-dir itself, executable.
        let mount = |name: &str| {
            c["volumeMounts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["name"] == name)
                .unwrap()["mountPath"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(mount("hooks"), flag("--hooks-dir"));
        let hooks_vol = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "hooks")
            .unwrap();
        assert_eq!(hooks_vol["configMap"]["name"], "ghops-agent-hooks");
        assert_eq!(hooks_vol["configMap"]["defaultMode"], 0o755);
        assert_eq!(format!("{}/ghops.toml", mount("config")), flag("--config"));
        assert!(
            docs[3]["data"]["deploy"]
                .as_str()
                .unwrap()
                .starts_with("#!/bin/sh")
        );
        assert!(flag("--state-dir").starts_with(&mount("state")));
        // The probes reach the --metrics-bind port.
        let port = c["ports"][0]["containerPort"].as_u64().unwrap();
        assert_eq!(flag("--metrics-bind"), format!("0.0.0.0:{port}"));
        assert_eq!(c["ports"][0]["name"], "metrics");
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            assert_eq!(c[probe]["httpGet"]["path"], path);
            assert_eq!(c[probe]["httpGet"]["port"], "metrics");
        }
        // The full text is snapshotted by the e2e test of `ghops agent manifests`.
    }
}
