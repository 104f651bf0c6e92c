import { fetch as undiciFetch, type Dispatcher } from 'undici';

export interface PageResponse {
  url: string;
  status: number;
  /** The absolute redirect target, when the answer was a redirect. */
  location?: string;
  body: string;
}

/**
 * A customer's browser reduced to what server-rendered login and consent pages need: a cookie
 * jar, GET and form POST, and redirects followed while they stay on one origin. For browser
 * behaviour (rendering, scripts, CSP) use Chromium through playwright-core instead.
 */
export interface FormBrowser {
  get(url: string): Promise<PageResponse>;
  post(url: string, form: URLSearchParams): Promise<PageResponse>;
  /** Follows redirects while they stay under `origin`; stops at a page or a redirect elsewhere (to the TPP). */
  follow(response: PageResponse): Promise<PageResponse>;
}

/**
 * @example
 * const browser = createFormBrowser(issuer, new Agent({ connect: { ca: pki.caBundlePem } }));
 * const loginPage = await browser.follow(await browser.get(authorizationUrl.href));
 */
export function createFormBrowser(origin: string, dispatcher: Dispatcher): FormBrowser {
  const cookies = new Map<string, string>();
  const request = async (url: string, method: 'GET' | 'POST', form?: URLSearchParams): Promise<PageResponse> => {
    const response = await undiciFetch(url, {
      method,
      redirect: 'manual',
      dispatcher,
      headers: {
        accept: 'text/html',
        cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: form.toString() } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const [name, value] = [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') cookies.delete(name);
      else cookies.set(name, value);
    }
    const location = response.headers.get('location');
    return {
      url,
      status: response.status,
      ...(location ? { location: new URL(location, url).href } : {}),
      body: await response.text(),
    };
  };
  const browser: FormBrowser = {
    get: (url) => request(url, 'GET'),
    post: (url, form) => request(url, 'POST', form),
    async follow(response) {
      let current = response;
      while (current.location?.startsWith(origin)) current = await browser.get(current.location);
      return current;
    },
  };
  return browser;
}
