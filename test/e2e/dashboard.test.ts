import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { berthUpTestbed } from '../support/berth-up.js';
import { deploymentYaml } from '../support/manifests.js';

/**
 * What this test uses of puppeteer-core. It is imported by a name held in a variable, so that a checkout
 * whose node_modules predates the dependency still typechecks; running the test needs it installed.
 */
interface Page {
  setViewport(v: { width: number; height: number }): Promise<void>;
  on(event: 'pageerror', listener: (err: unknown) => void): unknown;
  on(event: 'dialog', listener: (dialog: Dialog) => void): unknown;
  click(selector: string): Promise<void>;
  goto(url: string): Promise<unknown>;
  waitForSelector(selector: string, opts: { timeout: number }): Promise<unknown>;
  evaluate<T>(fn: () => T): Promise<T>;
  $eval<T>(selector: string, fn: (el: { textContent: string | null; querySelectorAll(s: string): { length: number } }) => T): Promise<T>;
  screenshot(opts: { path: string; fullPage: boolean }): Promise<unknown>;
}
interface Dialog {
  type(): string;
  message(): string;
  accept(text?: string): Promise<void>;
}
interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
interface Puppeteer {
  launch(opts: { executablePath: string; headless: boolean; args: string[] }): Promise<Browser>;
}
const PUPPETEER = 'puppeteer-core';

/** Debian's chromium (scripts/install-deps.sh installs it); BERTH_CHROMIUM names another. */
const CHROMIUM = process.env.BERTH_CHROMIUM ?? '/usr/bin/chromium';

interface SourceView {
  commitSha?: string;
  health?: { state: string };
}

// The dashboard in a real browser against a real `berth up`: a pushed commit turns applied and
// healthy on the page without a reload. BERTH_SCREENSHOT=<file.png> keeps the screenshot (the README's).
describe('the dashboard in Chromium', () => {
  const bed = berthUpTestbed('dashboard');
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('shows a pushed commit turning applied and healthy, live, with repository text shown as text; its roll-back button pushes the older files, which then run', async () => {
    const app = (replicas: number): string => deploymentYaml({ name: 'web', namespace: 'dash', replicas, image: inject('testImage'), command: ['sleep', '3600'] });
    const work = await bed.repo();
    await work.write('web.yaml', app(1));
    const first = await work.commit('one replica');
    await work.push();
    // Served over http (the last --repo wins): berth never writes into a work tree, and a rollback is a commit it pushes.
    const up = bed.up(work.url(inject('gitBaseUrl')));
    const url = await up.api();
    await up.until(async () => {
      const res = await fetch(`${url}/api/v1/sources`);
      const [source] = ((await res.json()) as { items: SourceView[] }).items;
      return source?.commitSha === first && source.health?.state === 'success';
    }, 'the first commit healthy');

    const page0 = await fetch(`${url}/`);
    expect(page0.headers.get('content-security-policy')).toContain("script-src 'self'");

    const puppeteer = ((await import(PUPPETEER)) as { default: Puppeteer }).default;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    await page.goto(`${url}/`);
    await page.waitForSelector(`article.source[data-commit="${first}"][data-health="success"]`, { timeout: 30_000 });
    // Marks this document: a reload would lose it.
    await page.evaluate(() => Object.assign(globalThis, { unreloaded: true }));

    await work.write('web.yaml', app(2));
    const second = await work.commit('<b>two</b> replicas');
    await work.push();
    const applied = `article.source[data-commit="${second}"]`;
    await page.waitForSelector(`${applied} li[data-commit="${second}"][data-outcome="applied"][data-inforce="true"]`, { timeout: 60_000 });
    await page.waitForSelector(`${applied}[data-health="success"] li[data-commit="${second}"] li[data-context="berth/health"][data-state="success"]`, { timeout: 90_000 });
    await page.waitForSelector(`${applied} tr[data-deployment="dash/web"] + tr li[data-pod]:nth-child(2)`, { timeout: 30_000 });

    expect(await page.evaluate(() => (globalThis as { unreloaded?: boolean }).unreloaded)).toBe(true);
    const shown = await page.$eval(applied, (el) => ({ text: el.textContent ?? '', bold: el.querySelectorAll('b').length }));
    expect(shown.text).toContain('<b>two</b> replicas');
    expect(shown.bold).toBe(0);
    expect(errors).toEqual([]);

    const file = process.env.BERTH_SCREENSHOT ?? path.join(os.tmpdir(), `berth-dashboard-${process.pid}.png`);
    await page.screenshot({ path: file, fullPage: true });
    expect((await fs.stat(file)).size).toBeGreaterThan(10_000);
    if (process.env.BERTH_SCREENSHOT === undefined) await fs.rm(file);

    // Roll back to the first commit with its button: the page asks for the token once, and the
    // source's sync pushes a commit with the first commit's files, which then runs (one replica again).
    const token = (await fs.readFile(path.join(bed.dataDir, 'api-token'), 'utf8')).trim();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.accept(dialog.type() === 'prompt' ? token : undefined);
    });
    await page.click(`${applied} li[data-commit="${first}"] button`);
    const rolled = await up.until(async () => {
      const [source] = ((await (await fetch(`${url}/api/v1/sources`)).json()) as { items: SourceView[] }).items;
      return source?.commitSha !== undefined && source.commitSha !== second && source.commitSha !== first && source.commitSha;
    }, 'the rollback commit in force');
    await work.git('fetch', '--quiet', 'origin');
    expect(await work.git('log', '--format=%H', 'origin/main')).toMatch(new RegExp(`^${rolled}\n${second}\n${first}$`));
    expect(await work.git('diff', first, rolled, '--', 'web.yaml')).toBe('');
    const back = `article.source[data-commit="${rolled}"]`;
    await page.waitForSelector(`${back} li[data-commit="${rolled}"][data-outcome="applied"][data-inforce="true"]`, { timeout: 60_000 });
    await page.waitForSelector(`${back}[data-health="success"] li[data-commit="${rolled}"] li[data-context="berth/health"][data-state="success"]`, { timeout: 90_000 });
    await up.until(async () => (await page.evaluate(() => (globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }).document.querySelectorAll('tr[data-deployment="dash/web"] + tr li[data-pod]').length)) === 1, 'one pod left on the page');
    expect(dialogs).toEqual([expect.stringMatching(/^prompt: The API token/)]);
    expect(errors).toEqual([]);
  }, 300_000);
});
