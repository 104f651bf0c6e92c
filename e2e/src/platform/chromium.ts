import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (`npx playwright install` cannot download here); CHROMIUM_PATH overrides. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where browser tests save their screenshots (created): OBIP_TEST_ARTIFACTS or test-artifacts/e2e. */
export function screenshotsDir(): string {
  const dir = join(process.env.OBIP_TEST_ARTIFACTS ?? join(process.cwd(), 'test-artifacts', 'e2e'), 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Headless Chromium for the browser tests. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // No network but loopback here: keep Chromium from reaching out at start.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
