//! `ghops runners manifests`: what a cluster needs to run the orchestrator, as Kubernetes
//! manifests (one multi-document YAML stream; each document is JSON, which is valid YAML and
//! what `kubectl apply -f` accepts).
//!
//! - a ServiceAccount for the orchestrator;
//! - per runner namespace: the Namespace with Pod Security `restricted` enforced (runner pods
//!   meet it), a Role with only the verbs the orchestrator uses (Jobs: get, list, create,
//!   delete; Secrets: create, delete; nothing on Pods: a Job's pods go with it) and its
//!   RoleBinding, and an example egress NetworkPolicy denying runner pods the cloud metadata
//!   endpoint (169.254.169.254: node credentials on most clouds);
//! - in the orchestrator's namespace, a Role for the leader-election Lease (get and update of
//!   that one Lease by name; create, which RBAC cannot limit by name);
//! - a Deployment (2 replicas) running `ghops serve --leader-election`: every replica handles
//!   deliveries, the Lease holder also runs the reconcile loop and the redelivery pass;
//! - a ConfigMap with `ghops.toml`;
//! - a Secret template for the GitHub App credentials and the webhook secret (empty values);
//! - optionally a CronJob running `ghops runners reconcile` with `concurrencyPolicy: Forbid`,
//!   for teams that poll instead of receiving webhooks.
//!
//! Runner pods get their own ServiceAccount with no RBAC and no token mounted.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::config::{BackendKind, DockerMode, RunnersConfig};

/// Options of `ghops runners manifests`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestOptions {
    /// Namespace of the orchestrator (Deployment, Secret, Lease).
    pub namespace: String,
    /// The ghops image (default: this version's, never `latest`).
    pub image: String,
    /// Base name of the objects (`ghops-runners`).
    pub name: String,
    /// Also emit a CronJob running one reconcile pass per schedule tick.
    pub cronjob: bool,
    /// Cron schedule of the CronJob.
    pub schedule: String,
    /// The `ghops.toml` text to ship in the ConfigMap (an empty template when `None`).
    pub config_text: Option<String>,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        Self {
            namespace: "ghops".into(),
            image: gh_core::dist::default_image(),
            name: "ghops-runners".into(),
            cronjob: false,
            schedule: "* * * * *".into(),
            config_text: None,
        }
    }
}

/// The namespaces Kubernetes pools launch runners in, sorted.
pub fn runner_namespaces(cfg: &RunnersConfig) -> Vec<String> {
    cfg.pools
        .iter()
        .filter(|p| p.backend == BackendKind::Kubernetes)
        .map(|p| p.kubernetes.namespace.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn labels(o: &ManifestOptions) -> Value {
    json!({
        "app.kubernetes.io/name": o.name,
        "app.kubernetes.io/managed-by": "ghops",
    })
}

fn env_from_secret(o: &ManifestOptions) -> Value {
    json!([{ "secretRef": { "name": format!("{}-credentials", o.name) } }])
}

fn config_volume(o: &ManifestOptions) -> (Value, Value) {
    (
        json!([{ "name": "config", "configMap": { "name": format!("{}-config", o.name) } }]),
        json!([{ "name": "config", "mountPath": "/etc/ghops", "readOnly": true }]),
    )
}

fn container(o: &ManifestOptions, name: &str, args: &[&str]) -> Value {
    let (_, mounts) = config_volume(o);
    json!({
        "name": name,
        "image": o.image,
        "args": args,
        "env": [{ "name": "GHOPS_CONFIG", "value": "/etc/ghops/ghops.toml" }],
        "envFrom": env_from_secret(o),
        "volumeMounts": mounts,
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "capabilities": { "drop": ["ALL"] },
            "seccompProfile": { "type": "RuntimeDefault" },
        },
    })
}

/// Every manifest, in apply order.
pub fn manifests(cfg: &RunnersConfig, o: &ManifestOptions) -> Vec<Value> {
    let ns = &o.namespace;
    let sa = &o.name;
    let mut docs = vec![json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": { "name": sa, "namespace": ns, "labels": labels(o) },
    })];
    for rns in runner_namespaces(cfg) {
        let mut ns_labels = labels(o);
        // A dind pool's sidecar is privileged: its namespace can only enforce `privileged`
        // (audit and warn stay `restricted`, so the exception stays visible).
        let dind = cfg.pools.iter().any(|p| {
            p.backend == BackendKind::Kubernetes
                && p.kubernetes.namespace == rns
                && p.kubernetes.docker == DockerMode::Dind
        });
        for mode in ["enforce", "audit", "warn"] {
            let level = if dind && mode == "enforce" {
                "privileged"
            } else {
                "restricted"
            };
            ns_labels[format!("pod-security.kubernetes.io/{mode}")] = json!(level);
            ns_labels[format!("pod-security.kubernetes.io/{mode}-version")] = json!("latest");
        }
        docs.push(json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": { "name": rns, "labels": ns_labels },
        }));
        docs.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": { "name": sa, "namespace": rns, "labels": labels(o) },
            "rules": [
                { "apiGroups": ["batch"], "resources": ["jobs"],
                  "verbs": ["get", "list", "create", "delete"] },
                { "apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "delete"] },
            ],
        }));
        docs.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": { "name": sa, "namespace": rns, "labels": labels(o) },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": sa },
            "subjects": [{ "kind": "ServiceAccount", "name": sa, "namespace": ns }],
        }));
        docs.push(json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": { "name": "ghops-runner", "namespace": rns, "labels": labels(o) },
            "automountServiceAccountToken": false,
        }));
        docs.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": "ghops-runner-egress",
                "namespace": rns,
                "labels": labels(o),
                "annotations": {
                    "ghops.dev/example": "egress anywhere but the cloud metadata endpoint; narrow it to what your jobs need",
                },
            },
            "spec": {
                "podSelector": { "matchLabels": { "app.kubernetes.io/managed-by": crate::backend::MANAGED_BY } },
                "policyTypes": ["Egress"],
                "egress": [{ "to": [
                    { "ipBlock": { "cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"] } },
                    { "ipBlock": { "cidr": "::/0", "except": ["fd00:ec2::254/128"] } },
                ] }],
            },
        }));
    }
    let lease_role = format!("{sa}-leader");
    docs.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": { "name": lease_role, "namespace": ns, "labels": labels(o) },
        "rules": [
            { "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
              "resourceNames": [crate::leader::LEASE_NAME], "verbs": ["get", "update"] },
            // RBAC cannot limit create by name (the object does not exist yet).
            { "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
              "verbs": ["create"] },
        ],
    }));
    docs.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": { "name": lease_role, "namespace": ns, "labels": labels(o) },
        "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": lease_role },
        "subjects": [{ "kind": "ServiceAccount", "name": sa, "namespace": ns }],
    }));
    docs.push(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": { "name": format!("{}-credentials", o.name), "namespace": ns, "labels": labels(o) },
        "type": "Opaque",
        "stringData": {
            "GHOPS_APP_ID": "",
            "GHOPS_APP_PRIVATE_KEY": "",
            "GHOPS_WEBHOOK_SECRET": "",
        },
    }));
    docs.push(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": format!("{}-config", o.name), "namespace": ns, "labels": labels(o) },
        "data": { "ghops.toml": o.config_text.clone().unwrap_or_else(|| "[runners]\n".into()) },
    }));
    let (volumes, _) = config_volume(o);
    docs.push(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": o.name, "namespace": ns, "labels": labels(o) },
        "spec": {
            "replicas": 2,
            "selector": { "matchLabels": { "app.kubernetes.io/name": o.name } },
            "template": {
                "metadata": { "labels": labels(o) },
                "spec": {
                    "serviceAccountName": sa,
                    "containers": [],
                    "volumes": volumes,
                },
            },
        },
    }));
    // Fill the container (json! has no struct update syntax). Every replica handles
    // deliveries; the holder of the Lease also runs the reconcile loop and the redelivery
    // pass.
    if let Some(d) = docs.last_mut() {
        let mut serve = container(
            o,
            "serve",
            &["serve", "--bind", "0.0.0.0:8080", "--leader-election"],
        );
        serve["env"] = json!([
            { "name": "GHOPS_CONFIG", "value": "/etc/ghops/ghops.toml" },
            { "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } },
            { "name": "POD_NAMESPACE", "valueFrom": { "fieldRef": { "fieldPath": "metadata.namespace" } } },
        ]);
        serve["ports"] = json!([{ "name": "http", "containerPort": 8080 }]);
        serve["readinessProbe"] = json!({ "httpGet": { "path": "/readyz", "port": "http" } });
        serve["livenessProbe"] = json!({ "httpGet": { "path": "/healthz", "port": "http" } });
        d["spec"]["template"]["spec"]["containers"] = json!([serve]);
    }
    if o.cronjob {
        docs.push(json!({
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": { "name": format!("{}-reconcile", o.name), "namespace": ns, "labels": labels(o) },
            "spec": {
                "schedule": o.schedule,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 1,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": { "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": 300,
                    "template": { "spec": {
                        "serviceAccountName": sa,
                        "restartPolicy": "Never",
                        "containers": [container(o, "reconcile", &["runners", "reconcile"])],
                        "volumes": volumes,
                    } },
                } },
            },
        }));
    }
    docs
}

/// A multi-document YAML stream of `docs` (each document as JSON, which is YAML).
pub fn render(docs: &[Value]) -> String {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&serde_json::to_string_pretty(d).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_image_is_this_version_never_latest() {
        let image = ManifestOptions::default().image;
        assert_eq!(image, gh_core::dist::default_image());
        assert!(
            image.ends_with(concat!(":", env!("CARGO_PKG_VERSION"))),
            "{image}"
        );
    }

    #[test]
    fn roles_are_minimal_and_cronjob_forbids_overlap() {
        let cfg = RunnersConfig::from_file(
            &gh_core::config::ConfigFile::parse(
                "[[runners.pools]]\nname = \"a\"\nrepos = [\"o/r\"]\nlabels = [\"x\"]\n",
                None,
            )
            .unwrap(),
        )
        .unwrap();
        let o = ManifestOptions {
            cronjob: true,
            // The default is this version's image (checked below); the snapshot stays put.
            image: "ghcr.io/example/ghops:latest".into(),
            ..ManifestOptions::default()
        };
        let docs = manifests(&cfg, &o);
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "ServiceAccount",
                "Namespace",
                "Role",
                "RoleBinding",
                "ServiceAccount",
                "NetworkPolicy",
                "Role",
                "RoleBinding",
                "Secret",
                "ConfigMap",
                "Deployment",
                "CronJob"
            ]
        );
        let all = serde_json::to_string(&docs).unwrap();
        assert!(!all.contains("\"*\""), "no wildcard verbs or resources");
        assert!(!all.contains("\"update\",") || all.contains("leases"));
        assert_eq!(docs[11]["spec"]["concurrencyPolicy"], "Forbid");
        // Issue 19 #12: the runner namespace enforces Pod Security "restricted", runner pods
        // may not reach the cloud metadata endpoint, the Lease rule names its Lease.
        assert_eq!(
            docs[1]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "restricted"
        );
        assert_eq!(
            docs[5]["spec"]["egress"][0]["to"][0]["ipBlock"]["except"],
            json!(["169.254.169.254/32"])
        );
        assert_eq!(
            docs[6]["rules"][0]["resourceNames"],
            json!([crate::leader::LEASE_NAME])
        );
        for rule in docs[6]["rules"].as_array().unwrap() {
            assert!(
                rule.get("resourceNames").is_some() || rule["verbs"] == json!(["create"]),
                "only create may go unnamed: {rule}"
            );
        }
        let text = render(&docs);
        assert_eq!(text.matches("---\n").count(), 12);
        ghops_test_support::insta_settings(None)
            .bind(|| insta::assert_snapshot!("manifests", text));
    }
}
