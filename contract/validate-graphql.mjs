// Validates GraphQL requests against GitHub's public GraphQL schema (@octokit/graphql-schema,
// pinned in package.json): the contract check for the requests ghops sends to /graphql,
// which the Prism REST mock cannot serve. Reads a JSON array on stdin whose items are either a
// query string (the document is validated) or `{"query": ..., "variables": {...}}` (the
// document, then the variables against the operation's variable definitions: types,
// non-null, enum values). Prints each invalid request's errors; exits 1 when any is invalid.
import { createRequire } from "node:module";
import { schema as githubSchema } from "@octokit/graphql-schema";

// The `graphql` that @octokit/graphql-schema itself uses (its dependency), not a second copy.
const require = createRequire(import.meta.resolve("@octokit/graphql-schema"));
const { buildClientSchema, getVariableValues, parse, validate } = require("graphql");

const schema = buildClientSchema(githubSchema.json);

let input = "";
for await (const chunk of process.stdin) input += chunk;
let bad = 0;
for (const item of JSON.parse(input)) {
  const { query, variables } = typeof item === "string" ? { query: item } : item;
  let errors;
  try {
    const doc = parse(query);
    errors = validate(schema, doc);
    if (errors.length === 0 && variables !== undefined) {
      const op = doc.definitions.find((d) => d.kind === "OperationDefinition");
      errors = getVariableValues(schema, op.variableDefinitions ?? [], variables ?? {}).errors ?? [];
    }
  } catch (e) {
    errors = [e];
  }
  if (errors.length > 0) {
    bad += 1;
    console.error(`invalid GraphQL request:\n${query}\nvariables: ${JSON.stringify(variables)}`);
    for (const e of errors) console.error(`  ${e.message}`);
  }
}
process.exit(bad > 0 ? 1 : 0);
