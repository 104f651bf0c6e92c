// One complete authorisation-code flow as a FAPI 2.0 TPP and its customer's browser drive it,
// straight to auth-server's port with the edge's headers: PAR with a signed request object
// (private_key_jwt) → GET /authorize → login form post → consent form post → redirect back with
// the code → token (private_key_jwt, the certificate in the edge's headers). Each step checks
// its answer and throws a FlowStepError naming itself when it is wrong, so a broken step is an
// error and never a success. Shared by the load child (flow-load.child.ts) and the smoke test.
import type { Pool } from 'undici';
import {
  BENCH_CODE_VERIFIER,
  pushedAuthorizationForms,
  signClientAssertions,
  type ClientAssertionSigner,
} from '../auth-server/assertions';

/** The timed steps of a flow, in order; a flow's own time runs from when it was due. */
export const FLOW_STEPS = ['par', 'authorize', 'login', 'consent', 'token'] as const;
export type FlowStep = (typeof FLOW_STEPS)[number];

export interface FlowCustomer {
  username: string;
  password: string;
}

/** Where the flows go and who runs them. */
export interface FlowSetup {
  /** auth-server's own port, `http://127.0.0.1:<port>`. */
  origin: string;
  /** The public host as auth-server prints it in redirects (its issuer). */
  issuer: string;
  redirectUri: string;
  /** The TPP's certificate as the edge forwards it (PAR and token only: the mTLS host). */
  edgeHeaders: Record<string, string>;
  signer: ClientAssertionSigner;
  /** Used in turn, one per flow. */
  customers: FlowCustomer[];
}

/** What one flow's TPP sends, signed before the clock starts. */
export interface FlowCredentials {
  /** The PAR form: client assertion and request object. */
  parForm: string;
  /** The `state` inside the request object, expected back with the code. */
  state: string;
  /** The client assertion of the code exchange. */
  tokenAssertion: string;
}

/** A step that answered wrongly (or not at all); `step` is where the flow broke. */
export class FlowStepError extends Error {
  constructor(
    readonly step: FlowStep,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${message}`, options);
    this.name = 'FlowStepError';
  }
}

export interface FlowResult {
  /** Milliseconds per step, from the step's first request to its checked answer. */
  steps: Record<FlowStep, number>;
  accessToken: string;
}

const FORM = 'application/x-www-form-urlencoded';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/**
 * `count` flows' credentials: a pushed authorization request with its own request object and
 * assertion, and a second assertion for the code exchange (each `jti` is spent once).
 *
 * @example
 * const [credentials] = signFlowCredentials(setup.signer, 1);
 */
export function signFlowCredentials(signer: ClientAssertionSigner, count: number): FlowCredentials[] {
  const forms = pushedAuthorizationForms(signer, count);
  const assertions = signClientAssertions(signer, count);
  return forms.map((parForm, index) => {
    const request = new URLSearchParams(parForm).get('request') ?? '';
    const claims = JSON.parse(Buffer.from(request.split('.')[1] ?? '', 'base64url').toString()) as { state: string };
    return { parForm, state: claims.state, tokenAssertion: assertions[index]! };
  });
}

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
}

/**
 * A browser's cookie jar over one undici pool to auth-server's port: absolute redirects to the
 * public host (the issuer) are requested on the same port, as the edge would route them.
 */
function createBrowser(pool: Pool, setup: FlowSetup) {
  const cookies = new Map<string, string>();
  const send = async (path: string, method: 'GET' | 'POST', form?: string): Promise<Answer> => {
    const response = await pool.request({
      path,
      method,
      headers: {
        accept: 'text/html',
        ...(cookies.size > 0 ? { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') } : {}),
        ...(form === undefined ? {} : { 'content-type': FORM }),
      },
      ...(form === undefined ? {} : { body: form }),
      headersTimeout: 30_000,
    });
    const setCookie = response.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) cookies.delete(name);
      else cookies.set(name, value);
    }
    const location = response.headers.location;
    return {
      status: response.statusCode,
      location: typeof location === 'string' ? location : undefined,
      body: await response.body.text(),
    };
  };
  /** The path of a redirect that stays on auth-server's public host, else undefined. */
  const onHost = (location: string | undefined) => {
    if (location === undefined) return undefined;
    if (location.startsWith('/')) return location;
    return location.startsWith(`${setup.issuer}/`) ? location.slice(setup.issuer.length) : undefined;
  };
  return {
    send,
    /** Follows redirects while they stay on auth-server; stops at a page or a redirect elsewhere. */
    async follow(answer: Answer): Promise<Answer> {
      let current = answer;
      for (let hops = 0; hops < 10; hops += 1) {
        const path = onHost(current.location);
        if (path === undefined || current.status < 300 || current.status > 399) return current;
        current = await send(path, 'GET');
      }
      return current;
    },
  };
}

/** The action of the page's form (relative to auth-server), or undefined. */
const formAction = (page: Answer) => /<form[^>]*action="([^"]+)"/.exec(page.body)?.[1]?.replaceAll('&amp;', '&');
const describe = (answer: Answer) =>
  `${answer.status}${answer.location ? ` → ${answer.location}` : ''} ${answer.body.slice(0, 200)}`;

/**
 * Runs one complete flow and returns each step's time and the access token; throws a
 * FlowStepError at the first wrong answer.
 *
 * @example
 * const { steps, accessToken } = await runFlow(pool, setup, credentials, setup.customers[0]!);
 */
export async function runFlow(
  pool: Pool,
  setup: FlowSetup,
  credentials: FlowCredentials,
  customer: FlowCustomer,
): Promise<FlowResult> {
  const steps = {} as Record<FlowStep, number>;
  const timed = async <Value>(step: FlowStep, work: () => Promise<Value>): Promise<Value> => {
    const from = performance.now();
    try {
      const value = await work();
      steps[step] = performance.now() - from;
      return value;
    } catch (error) {
      throw error instanceof FlowStepError ? error : new FlowStepError(step, String(error), { cause: error });
    }
  };
  const browser = createBrowser(pool, setup);
  const tppPost = async (path: string, body: string) => {
    const response = await pool.request({
      path,
      method: 'POST',
      headers: { 'content-type': FORM, accept: 'application/json', ...setup.edgeHeaders },
      body,
      headersTimeout: 30_000,
    });
    return { status: response.statusCode, text: await response.body.text() };
  };

  const requestUri = await timed('par', async () => {
    const answer = await tppPost('/par', credentials.parForm);
    const uri = answer.status === 201 ? (JSON.parse(answer.text) as { request_uri?: unknown }).request_uri : undefined;
    if (typeof uri !== 'string') throw new FlowStepError('par', `${answer.status} ${answer.text.slice(0, 200)}`);
    return uri;
  });

  const loginPage = await timed('authorize', async () => {
    const query = new URLSearchParams({ client_id: setup.signer.clientId, request_uri: requestUri });
    const page = await browser.follow(await browser.send(`/authorize?${query}`, 'GET'));
    if (page.status !== 200 || !formAction(page)?.endsWith('/login'))
      throw new FlowStepError('authorize', `no login page: ${describe(page)}`);
    return page;
  });

  const consentPage = await timed('login', async () => {
    const form = new URLSearchParams({ username: customer.username, password: customer.password });
    const page = await browser.follow(await browser.send(formAction(loginPage)!, 'POST', form.toString()));
    if (page.status !== 200 || !formAction(page)?.endsWith('/consent'))
      throw new FlowStepError('login', `no consent page: ${describe(page)}`);
    return page;
  });

  const code = await timed('consent', async () => {
    const accounts = [...consentPage.body.matchAll(/name="accounts"[^>]*value="([^"]+)"/g)].map((match) => match[1]!);
    if (accounts.length === 0) throw new FlowStepError('consent', 'the consent page offers no account');
    const form = new URLSearchParams([
      ...accounts.map((account): [string, string] => ['accounts', account]),
      ['decision', 'approve'],
    ]);
    const back = await browser.follow(await browser.send(formAction(consentPage)!, 'POST', form.toString()));
    if (!back.location?.startsWith(`${setup.redirectUri}?`))
      throw new FlowStepError('consent', `no redirect back to the TPP: ${describe(back)}`);
    const callback = new URL(back.location).searchParams;
    const problems = [
      callback.get('state') === credentials.state ? undefined : `state ${callback.get('state')}`,
      // RFC 9207: FAPI 2.0 requires the issuer in the authorization response.
      callback.get('iss') === setup.issuer ? undefined : `iss ${callback.get('iss')}`,
      callback.get('code')
        ? undefined
        : `no code (error ${callback.get('error')} ${callback.get('error_description')})`,
    ].filter((problem) => problem !== undefined);
    if (problems.length > 0) throw new FlowStepError('consent', problems.join(', '));
    return callback.get('code')!;
  });

  const accessToken = await timed('token', async () => {
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: setup.redirectUri,
      code_verifier: BENCH_CODE_VERIFIER,
      client_id: setup.signer.clientId,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: credentials.tokenAssertion,
    });
    const answer = await tppPost('/token', form.toString());
    const tokens = answer.status === 200 ? (JSON.parse(answer.text) as Record<string, unknown>) : {};
    if (
      typeof tokens.access_token !== 'string' ||
      typeof tokens.id_token !== 'string' ||
      String(tokens.token_type).toLowerCase() !== 'bearer'
    )
      throw new FlowStepError('token', `${answer.status} ${answer.text.slice(0, 200)}`);
    return tokens.access_token;
  });

  return { steps, accessToken };
}
