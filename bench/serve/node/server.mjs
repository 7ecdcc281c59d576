// Baseline: verify-and-receive with @octokit/webhooks on node:http, same route and answers
// as `ghops serve` (202 accepted, 401 bad signature).
import http from "node:http";
import { Webhooks } from "@octokit/webhooks";

const secret = process.env.GHOPS_WEBHOOK_SECRET;
const port = Number(process.env.PORT || 8091);
const webhooks = new Webhooks({ secret });
webhooks.on("issue_comment", () => {});

http
  .createServer(async (req, res) => {
    if (req.method !== "POST" || req.url !== "/webhook") {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    try {
      await webhooks.verifyAndReceive({
        id: req.headers["x-github-delivery"],
        name: req.headers["x-github-event"],
        payload: Buffer.concat(chunks).toString("utf8"),
        signature: req.headers["x-hub-signature-256"],
      });
      res.writeHead(202).end("accepted\n");
    } catch (e) {
      res.writeHead(e.status || 401).end();
    }
  })
  .listen(port, "127.0.0.1", () => console.error(`node baseline on ${port}`));
