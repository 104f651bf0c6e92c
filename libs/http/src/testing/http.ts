/** Test support, not exported from the lib: real servers on port 0 and raw HTTP/1.1 requests. */
import { once } from 'node:events';
import { type RequestListener, type Server, type ServerOptions, createServer } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface RunningServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts `listener` (a node:http handler or an Express app) on 127.0.0.1, port 0. */
export async function listen(listener: RequestListener, options: ServerOptions = {}): Promise<RunningServer> {
  const server: Server = createServer(options, listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends a request over a plain socket, header lines exactly as given: fetch would merge or
 * refuse repeated headers, and the point of these tests is that repeats reach the server.
 */
export async function rawRequest(
  port: number,
  headerLines: readonly string[],
  request: { method?: string; path?: string } = {},
): Promise<RawResponse> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const head = [
    `${request.method ?? 'GET'} ${request.path ?? '/'} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Connection: close',
    ...headerLines,
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return parseResponse(Buffer.concat(chunks).toString('utf8'));
}

function parseResponse(text: string): RawResponse {
  const split = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = text.slice(split + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

function dechunk(body: string): string {
  let out = '';
  for (let rest = body; ;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

export interface CapturedLogs {
  logger: Logger;
  /** Everything written so far, as raw text. */
  text(): string;
  /** Everything written so far, one parsed object per line. */
  lines(): Array<Record<string, unknown>>;
}

/** A pino logger at debug level writing into memory. */
export function captureLogs(): CapturedLogs {
  let written = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      written += chunk.toString('utf8');
      callback();
    },
  });
  return {
    logger: pino({ level: 'debug' }, stream),
    text: () => written,
    lines: () =>
      written
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
