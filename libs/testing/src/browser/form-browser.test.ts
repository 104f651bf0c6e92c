import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { createFormBrowser } from './form-browser';

test('keeps cookies, posts forms and follows redirects only while they stay on the origin', async (t) => {
  const seen: Array<{ path: string; cookie: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', cookie: req.headers.cookie ?? '', body });
      if (req.url === '/start') {
        res.writeHead(302, { location: '/login', 'set-cookie': 'session=abc; Path=/; HttpOnly' });
      } else if (req.url === '/login' && req.method === 'POST') {
        res.writeHead(303, {
          location: 'https://tpp.example/cb?code=1',
          'set-cookie': 'session=; expires=Thu, 01 Jan 1970 00:00:00 GMT',
        });
      } else res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<form action="/login"></form>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new Agent();
  t.after(async () => {
    await agent.close();
    server.close();
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = createFormBrowser(origin, agent);

  const page = await browser.follow(await browser.get(`${origin}/start`));
  assert.equal(page.url, `${origin}/login`);
  assert.equal(page.status, 200);
  const back = await browser.follow(await browser.post(`${origin}/login`, new URLSearchParams({ username: 'a' })));
  assert.equal(back.location, 'https://tpp.example/cb?code=1', 'stops at the redirect to another origin');
  assert.deepEqual(
    seen.map(({ path, cookie, body }) => [path, cookie, body]),
    [
      ['/start', '', ''],
      ['/login', 'session=abc', ''],
      ['/login', 'session=abc', 'username=a'],
    ],
  );
  await browser.get(`${origin}/after`);
  assert.equal(seen.at(-1)?.cookie, '', 'the expired cookie was dropped');
});
