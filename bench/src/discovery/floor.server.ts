// The floor of discovery and JWKS (issue 11 scenario 6): bare node:http answering GET
// /.well-known/openid-configuration and GET /jwks with obip's own documents, byte for byte,
// read once at start: what serving a static JSON of that size costs at the least here.
// Env: DISCOVERY_FILE, JWKS_FILE. Prints {"ready":{"port":N}}.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const documents = new Map([
  ['/.well-known/openid-configuration', readFileSync(process.env.DISCOVERY_FILE!)],
  ['/jwks', readFileSync(process.env.JWKS_FILE!)],
]);

const server = createServer((req, res) => {
  const body = req.method === 'GET' ? documents.get((req.url ?? '/').split('?')[0]!) : undefined;
  if (!body) {
    res.writeHead(404, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end('{"error":"not_found"}');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: { port: (server.address() as AddressInfo).port } })}\n`);
});
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close();
});
