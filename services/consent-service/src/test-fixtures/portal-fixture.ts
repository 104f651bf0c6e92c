// Test support: the customer portal router as main.ts mounts it, on a consent fixture (real
// consent service, MongoDB-compatible server and Redis sessions), served on port 0. Customers are
// signed in by creating their session in Redis and signing its cookie as the router does. Not
// imported by main.ts.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpApp } from '@obip/http';
import { createCookieSigner } from '../portal/portal.cookies';
import { createPortalRouter, type TppDescription } from '../portal/portal.http';
import type { PortalSignIn } from '../portal/portal.oidc';
import { createRedisPortalSessions, type PortalSession, type PortalSessions } from '../portal/portal.sessions.redis';
import { silentLogger, type ConsentFixture } from './consent-fixture';

const COOKIE_KEY = 'portal-test-cookie-key-0123456789abcdef';
/** The session cookie's name over http (no `__Secure-` prefix). */
export const PORTAL_COOKIE = 'obip-portal';

export interface PortalReply {
  status: number;
  headers: Headers;
  body: string;
}

export interface PortalRequestOptions {
  cookie?: string;
  form?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface PortalFixture {
  /** `http://127.0.0.1:<port>`: the portal's origin. */
  origin: string;
  sessions: PortalSessions;
  /** A signed-in customer: a session in Redis and its signed cookie. */
  signedIn(
    subject: string,
    authentication?: Pick<PortalSession, 'acr' | 'amr'>,
  ): Promise<{ cookie: string; csrfToken: string }>;
  /** A GET, or a form POST when `form` is given; redirects are not followed. */
  request(path: string, options?: PortalRequestOptions): Promise<PortalReply>;
  close(): Promise<void>;
}

/** A stand-in of the PortalSignIn port that no test reaches: auth-server's part is e2e's. */
const NO_SIGN_IN: PortalSignIn = {
  begin: () => Promise.reject(new Error('sign-in is not part of this test')),
  complete: () => Promise.reject(new Error('sign-in is not part of this test')),
};

export async function startPortalFixture(
  fixture: ConsentFixture,
  options: { tpps?: Record<string, TppDescription>; signIn?: PortalSignIn } = {},
): Promise<PortalFixture> {
  const sessions = createRedisPortalSessions(fixture.redis, { idleSeconds: 900, maxSeconds: 3_600 });
  const signer = createCookieSigner([COOKIE_KEY]);
  const app = createHttpApp({ logger: silentLogger });
  const server: Server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  app.use(
    '/portal',
    createPortalRouter({
      consents: fixture.consents,
      customers: fixture.customers,
      authentications: fixture.authentications,
      tpps: { describe: async (clientId) => options.tpps?.[clientId] },
      sessions,
      signIn: options.signIn ?? NO_SIGN_IN,
      cookieKeys: [COOKIE_KEY],
      publicOrigin: origin,
    }),
  );
  return {
    origin,
    sessions,
    async signedIn(subject, authentication) {
      const { id, session } = await sessions.create(subject, authentication);
      return { cookie: `${PORTAL_COOKIE}=${signer.sign(id)}`, csrfToken: session.csrfToken };
    },
    async request(path, requestOptions = {}) {
      const response = await fetch(`${origin}${path}`, {
        method: requestOptions.form ? 'POST' : 'GET',
        redirect: 'manual',
        headers: {
          ...(requestOptions.cookie ? { cookie: requestOptions.cookie } : {}),
          ...(requestOptions.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...requestOptions.headers,
        },
        ...(requestOptions.form ? { body: new URLSearchParams(requestOptions.form).toString() } : {}),
      });
      return { status: response.status, headers: response.headers, body: await response.text() };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
