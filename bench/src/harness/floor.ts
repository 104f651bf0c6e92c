// What every request-answering floor server (issue 11's "hardware floor") shares: one node:http
// server on a loopback port that reads each request's whole body and answers with JSON, its
// ready line for startServiceProcess, its SIGTERM shutdown, and the certificate thumbprint taken
// from the edge's header. Each floor then does only its scenario's own work.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An answer: HTTP status and JSON body. */
export type FloorAnswer = [status: number, body: string];

const UNAVAILABLE: FloorAnswer = [503, '{"error":"temporarily_unavailable"}'];

function reply(res: ServerResponse, [status, body]: FloorAnswer): void {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

/** `x5t#S256` of the forwarded certificate: SHA-256 of its DER, base64url (RFC 8705 §3.1). */
export function forwardedThumbprint(req: IncomingMessage): string | undefined {
  const header = req.headers['ssl-client-cert'];
  if (typeof header !== 'string' || req.headers['ssl-client-verify'] !== 'SUCCESS') return undefined;
  const base64 = decodeURIComponent(header).replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
  return createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64url');
}

export interface FloorOptions {
  answer(req: IncomingMessage, body: string): Promise<FloorAnswer>;
  /** The answer when `answer` rejects; by default 503 temporarily_unavailable. */
  failed?(error: unknown): FloorAnswer;
  /** Closes the floor's own connections (Redis, MongoDB) on SIGTERM. */
  close(): unknown;
}

/**
 * Serves `answer` on a free loopback port and prints `{"ready":{"port":N}}`.
 *
 * @example
 * serveFloor({ answer: async (req, body) => [200, '{}'], close: () => redis.disconnect() });
 */
export function serveFloor(options: FloorOptions): void {
  const failed = options.failed ?? (() => UNAVAILABLE);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      options.answer(req, Buffer.concat(chunks).toString('utf8')).then(
        (answer) => reply(res, answer),
        (error: unknown) => reply(res, failed(error)),
      );
    });
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ ready: { port: (server.address() as AddressInfo).port } })}\n`);
  });
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    void options.close();
  });
}
