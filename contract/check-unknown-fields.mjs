// Flags request-body properties and query parameters that GitHub's OpenAPI description does
// not define for the operation: GitHub ignores unknown ones silently and the description rarely
// forbids them (no `additionalProperties: false`), so Prism lets a misspelt or misplaced field
// through. Reads a JSON array of {method, path, body, workflow?} on stdin (path as sent to
// api.github.com, query included); prints one line per unknown name; exits 1 when any.
import { readFileSync } from "node:fs";

const spec = JSON.parse(
  readFileSync(
    new URL("./node_modules/@octokit/openapi/generated/api.github.com.json", import.meta.url),
    "utf8",
  ),
);

const deref = (s) => {
  while (s && s.$ref) {
    s = s.$ref
      .slice(2)
      .split("/")
      .reduce((o, k) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")], spec);
  }
  return s;
};

// Every property name a schema allows at its top level (across allOf/oneOf/anyOf), or null
// when it allows any (no properties listed, or additionalProperties not false and not typed).
const allowed = (schema) => {
  const s = deref(schema);
  if (!s) return null;
  let names = new Set(Object.keys(s.properties ?? {}));
  for (const k of ["allOf", "oneOf", "anyOf"]) {
    for (const sub of s[k] ?? []) {
      const more = allowed(sub);
      if (more === null) return null;
      for (const n of more) names.add(n);
    }
  }
  return names.size > 0 ? names : null;
};

const routes = Object.entries(spec.paths).map(([tmpl, ops]) => ({
  re: new RegExp("^" + tmpl.replace(/\{[^}]+\}/g, "[^/]+") + "$"),
  literal: (tmpl.match(/[^{}]/g) ?? []).length - (tmpl.match(/\{[^}]+\}/g) ?? []).join("").length,
  tmpl,
  ops,
}));

let input = "";
for await (const chunk of process.stdin) input += chunk;
let bad = 0;
for (const { method, path: target, body, workflow } of JSON.parse(input)) {
  const [path, query] = target.split("?");
  // The most specific template (most literal characters) wins: /git/refs over /git/{x}.
  const hits = routes
    .filter((r) => r.re.test(path) && r.ops[method.toLowerCase()])
    .sort((a, b) => b.literal - a.literal);
  if (hits.length === 0) continue; // Prism reports unknown paths.
  const op = hits[0].ops[method.toLowerCase()];
  const who = `${workflow ? `${workflow}: ` : ""}${method} ${hits[0].tmpl}`;
  const params = [...(hits[0].ops.parameters ?? []), ...(op.parameters ?? [])].map(deref);
  const queryNames = new Set(params.filter((p) => p.in === "query").map((p) => p.name));
  for (const key of new URLSearchParams(query ?? "").keys()) {
    if (!queryNames.has(key)) {
      bad += 1;
      console.error(`${who}: unknown query parameter \`${key}\``);
    }
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) continue;
  const schema = op.requestBody && deref(op.requestBody).content?.["application/json"]?.schema;
  const names = schema ? allowed(schema) : new Set();
  if (names === null) continue;
  for (const key of Object.keys(body)) {
    if (!names.has(key)) {
      bad += 1;
      console.error(`${who}: unknown body property \`${key}\``);
    }
  }
}
process.exit(bad > 0 ? 1 : 0);
