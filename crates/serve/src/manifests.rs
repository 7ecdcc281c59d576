//! Kubernetes manifests for running the webhook server (`ghops serve manifests`).

/// The Kubernetes manifests `ghops serve manifests` prints: ServiceAccount, a Secret template
/// (App id, private key, webhook secret), a one-replica Deployment whose readiness and liveness
/// probes use `/readyz` and `/healthz`, and its Service. TLS terminates at the ingress.
pub fn kubernetes(namespace: &str, image: &str) -> String {
    format!(
        r#"# ghops serve: GitHub App webhook server. TLS terminates at your ingress.
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ghops-serve
  namespace: {namespace}
---
# Fill and apply separately (or use your secret manager): never commit real values.
apiVersion: v1
kind: Secret
metadata:
  name: ghops-serve
  namespace: {namespace}
type: Opaque
stringData:
  GHOPS_APP_ID: "REPLACE_ME"
  GHOPS_APP_PRIVATE_KEY: "REPLACE_ME (PEM)"
  GHOPS_WEBHOOK_SECRET: "REPLACE_ME"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ghops-serve
  namespace: {namespace}
  labels: {{app.kubernetes.io/name: ghops-serve}}
spec:
  replicas: 1
  selector:
    matchLabels: {{app.kubernetes.io/name: ghops-serve}}
  template:
    metadata:
      labels: {{app.kubernetes.io/name: ghops-serve}}
    spec:
      serviceAccountName: ghops-serve
      automountServiceAccountToken: false
      securityContext: {{runAsNonRoot: true, runAsUser: 65532, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
        - name: ghops
          image: {image}
          args: ["serve", "--bind", "0.0.0.0:8080"]
          envFrom:
            - secretRef: {{name: ghops-serve}}
          ports:
            - {{name: http, containerPort: 8080}}
          readinessProbe:
            httpGet: {{path: /readyz, port: http}}
          livenessProbe:
            httpGet: {{path: /healthz, port: http}}
          resources:
            requests: {{cpu: 50m, memory: 64Mi}}
            limits: {{memory: 256Mi}}
          securityContext: {{allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {{drop: [ALL]}}}}
---
apiVersion: v1
kind: Service
metadata:
  name: ghops-serve
  namespace: {namespace}
spec:
  selector: {{app.kubernetes.io/name: ghops-serve}}
  ports:
    - {{name: http, port: 80, targetPort: http}}
"#
    )
}
