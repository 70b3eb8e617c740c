// A real browser for the tests: Debian's chromium driven by playwright-core (never a downloaded
// browser). `useBrowser()`, called inside a describe, launches one headless Chromium for the block
// and closes it after; pages are cheap, the browser is not.
import { existsSync } from 'node:fs';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env['STOMPEDE_TEST_CHROMIUM'] ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined when they can. CI installs chromium (.ci/run). */
export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium, or make test-deps)`;
}

export interface BrowserSuite {
  /** A new page; `log` collects its console lines and page errors. */
  page(): Promise<{ page: Page; log: string[] }>;
}

export function useBrowser(): BrowserSuite {
  let browser: Browser | undefined;
  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
  });
  after(async () => {
    await browser?.close();
  });
  return {
    async page() {
      if (browser === undefined) throw new Error('the browser runs only inside tests of the describe that called useBrowser()');
      const page = await browser.newPage();
      const log: string[] = [];
      page.on('console', (m) => log.push(m.text()));
      page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
      page.on('requestfailed', (r) => log.push(`requestfailed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
      page.on('response', (r) => {
        if (r.status() >= 400) log.push(`response: ${r.status()} ${r.url()}`);
      });
      return { page, log };
    },
  };
}
