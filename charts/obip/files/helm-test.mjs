// `helm test` for charts/obip: discovery and JWKS answer on auth-server, and every service reports
// ready on its ops port. Runs with the auth-server image (Node 24, no npm packages).
/* global process, console, fetch, AbortSignal */
const targets = JSON.parse(process.env.OBIP_TEST_TARGETS);
const failures = [];

async function check(name, url, accept) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    const problem = res.ok ? accept(body) : `HTTP ${res.status}`;
    if (problem) failures.push(`${name}: ${url}: ${problem}`);
    else console.log(`ok   ${name}`);
  } catch (error) {
    failures.push(`${name}: ${url}: ${error.message}`);
  }
}

await check('discovery', `${targets.authServer}/.well-known/openid-configuration`, (body) =>
  typeof JSON.parse(body).issuer === 'string' ? '' : 'no issuer in the discovery document',
);
await check('jwks', `${targets.authServer}/jwks`, (body) =>
  Array.isArray(JSON.parse(body).keys) ? '' : 'no keys array in the JWKS',
);
for (const [service, url] of Object.entries(targets.readyz)) await check(`${service} ready`, url, () => '');

for (const failure of failures) console.error(`FAIL ${failure}`);
process.exit(failures.length ? 1 : 0);
