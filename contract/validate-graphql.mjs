// Validates GraphQL documents against GitHub's public GraphQL schema (@octokit/graphql-schema,
// pinned in package.json): the contract check for the requests ghops sends to /graphql,
// which the Prism REST mock cannot serve. Reads a JSON array of query strings on stdin;
// prints each invalid document's errors; exits 1 when any is invalid.
import { validate } from "@octokit/graphql-schema";

let input = "";
for await (const chunk of process.stdin) input += chunk;
let bad = 0;
for (const query of JSON.parse(input)) {
  const errors = validate(query);
  if (errors.length > 0) {
    bad += 1;
    console.error(`invalid GraphQL document:\n${query}`);
    for (const e of errors) console.error(`  ${e.message}`);
  }
}
process.exit(bad > 0 ? 1 : 0);
