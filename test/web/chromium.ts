// Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core, a fresh profile,
// the flags the developers' guide gives, console errors and requests off loopback collected.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';

/** `skip` for a test that needs Chromium: false when it is installed, else why not. */
export const chromiumSkip: false | string = existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (apt-get install chromium)`;

/**
 * Opens `url` in a fresh headless Chromium, waits (up to `timeoutMs`) for the page to write its
 * result into `<pre id="out">`, and returns that text with the problems seen: console errors,
 * uncaught page errors, and any request that would leave 127.0.0.1 (aborted).
 */
export async function pageResult(url: string, timeoutMs: number, extraArgs: string[] = []): Promise<{ text: string; problems: string[] }> {
  const [only] = await pageResults([url], timeoutMs, async () => {}, extraArgs);
  return only!;
}

/**
 * Opens each of `urls` in turn in one fresh headless Chromium profile (so what a page keeps, such as
 * the Cache API, is there for the next), calling `between(i)` before the i-th; returns each page's
 * result as {@link pageResult} does, problems counted per page.
 */
export async function pageResults(urls: string[], timeoutMs: number, between: (i: number) => Promise<void>, extraArgs: string[] = []): Promise<Array<{ text: string; problems: string[] }>> {
  const browser = await openBrowser(extraArgs);
  const results: Array<{ text: string; problems: string[] }> = [];
  try {
    for (const [i, url] of urls.entries()) {
      await between(i);
      const seen = browser.problems.length;
      const page = await browser.context.newPage();
      await browser.watch(page);
      await page.goto(url);
      await page.waitForFunction("(document.getElementById('out')?.textContent ?? '') !== ''", undefined, { timeout: timeoutMs });
      results.push({ text: (await page.textContent('#out')) ?? '', problems: browser.problems.slice(seen) });
      await page.close();
    }
    return results;
  } finally {
    await browser.close();
  }
}

/**
 * A fresh headless Chromium (its own profile), for tests that drive a page themselves: `watch(page)`
 * collects console errors, page errors and requests off 127.0.0.1 (aborted) into `problems`.
 */
export async function openBrowser(extraArgs: string[] = []): Promise<{ context: import('playwright-core').BrowserContext; problems: string[]; watch(page: import('playwright-core').Page): Promise<void>; close(): Promise<void> }> {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
  const problems: string[] = [];
  return {
    context,
    problems,
    async watch(page) {
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(`console: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      await page.route('**/*', (route) => {
        const target = new URL(route.request().url());
        if (target.hostname !== '127.0.0.1') {
          problems.push(`request off loopback: ${target.href}`);
          return route.abort();
        }
        return route.continue();
      });
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** A test page's two routes: `/` (an HTML shell with `<pre id="out">`) and `/app.js`, `entry` (test/web/*.mjs) bundled for the browser by esbuild. */
export async function pageRoutes(entry: string, title: string): Promise<Array<[string, PageFile]>> {
  const { build } = await import('esbuild');
  const bundle = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, write: false, logLevel: 'silent' });
  return [
    ['/', { body: `<!doctype html><meta charset="utf-8"><title>${title}</title><pre id="out"></pre><script type="module" src="/app.js"></script>`, type: 'text/html' }],
    ['/app.js', { body: bundle.outputFiles[0]!.contents, type: 'text/javascript' }],
  ];
}

/** One file a test page is served. */
export interface PageFile {
  body: Uint8Array | string;
  type: string;
}

/** Serves the test page from 127.0.0.1: `fileAt(path)` (URL-decoded) answers with 200, or 404 when it gives nothing. */
export async function servePage(fileAt: (path: string) => PageFile | undefined): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const file = fileAt(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type }).end(file.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
