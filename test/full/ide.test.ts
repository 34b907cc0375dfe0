/**
 * The GraphQL IDE developers get from a browser: GET /graphql on the web gateway, outside
 * production, served with its assets from npm (no CDN: the page loads nothing from anywhere
 * else), asking for the bearer token before anything needs it. Driven in headless Chromium
 * (Debian's chromium, which .ci/run installs): the page asks for a token, loads the schema
 * with it (no error on first load), and runs a query.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chromium, type Browser } from 'playwright-core';
import { web } from '../../gateway/clients/web.js';
import { startGateway } from '../../gateway/index.js';
import { startStack, type Stack } from '../../scripts/stack.js';
import { as } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = spawnSync(CHROMIUM, ['--version']).status === 0;
if (!HAS_CHROMIUM) console.warn('chromium not found: the IDE test is skipped (.ci/run installs it)');

let stack: Stack;
let browser: Browser;
beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  // The flags keep Chromium from calling out of this machine (updates, sync, QUIC probes).
  browser = await chromium.launch({
    executablePath: CHROMIUM,
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
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

(HAS_CHROMIUM ? describe : describe.skip)('the GraphQL IDE', () => {
  test('asks for a token first, then loads the schema with it and runs a query, offline and without an error', async () => {
    const context = await browser.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await context.newPage();
    /** Replaces an editor's text as a person pasting it would (typing would fight the editor's auto-closing brackets). */
    const paste = async (editor: ReturnType<typeof page.locator>, text: string) => {
      await page.evaluate((value) => navigator.clipboard.writeText(value), text);
      await editor.click();
      await page.keyboard.press('ControlOrMeta+A');
      await page.keyboard.press('ControlOrMeta+V');
    };
    const elsewhere: string[] = [];
    const answers: number[] = [];
    const origin = new URL(stack.gateways.web!.url).origin;
    page.on('request', (request) => {
      if (!/^(blob|data):/.test(request.url()) && !request.url().startsWith(origin)) elsewhere.push(request.url());
    });
    page.on('response', (response) => {
      if (response.request().method() === 'POST') answers.push(response.status());
    });
    await page.goto(`${origin}/graphql`);

    // First: the page asks for a token, and has sent nothing that would fail without one.
    const input = page.locator('#patchbay-token');
    await input.waitFor({ timeout: 20_000 });
    expect(answers).toEqual([]);
    // A refused token is said to be so, with the gateway's reason.
    await input.fill('not-a-token');
    await page.getByRole('button', { name: 'Open the IDE' }).click();
    await page.waitForFunction(() => document.querySelector('.patchbay-token .problem')?.textContent?.includes('refused'));
    expect(await page.locator('.patchbay-token .problem').innerText()).toMatch(/refused: Authorization must be "Bearer <JWT>"/);

    const token = (await as('usr_00001')).authorization!;
    await page.locator('#patchbay-token').fill(token.replace(/^Bearer /, ''));
    await page.getByRole('button', { name: 'Open the IDE' }).click();
    await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
    // The schema loads with the page: the documentation explorer shows the root type's fields.
    await page.getByRole('button', { name: /Show Documentation Explorer/i }).click();
    await page.getByText('Query', { exact: true }).first().click();
    await page.getByText('me', { exact: true }).first().waitFor({ timeout: 20_000 });
    expect(await page.locator('body').innerText()).not.toMatch(/Error fetching schema|Failed to fetch/i);

    await paste(page.locator('.graphiql-editor').first(), '{ me { id name } }');
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    for (let i = 0; i < 100 && !(await result.innerText()).includes('usr_00001'); i++) await page.waitForTimeout(200);
    // The editor renders spaces as no-break spaces.
    const shown = (await result.innerText()).replace(/\u00a0/g, ' ');
    expect(shown).toMatch(/"id":\s*"usr_00001"/);
    expect(shown).toContain(stack.sandbox.seed.users[0]!.name);
    // Nothing was refused but the token given as wrong; nothing came from anywhere else.
    expect(answers.filter((status) => status !== 200)).toEqual([401]);
    expect(elsewhere).toEqual([]);
    await context.close();
  }, 60_000);

  test('is off in production, and on mobile', async () => {
    const production = await startGateway(web, {
      ...stack.subgraphUrls,
      NODE_ENV: 'production',
      WEB_GATEWAY_PORT: '0',
      LOG_LEVEL: 'silent',
      JWT_SECRET: 'a-production-secret-for-this-test-0123456789',
      JWT_ISSUER: 'https://id.example.com/',
      JWT_AUDIENCE: 'patchbay',
      INTERNAL_TOKEN_SECRET: 'an-internal-secret-for-this-test-0123456789',
      WEB_CORS_ORIGINS: 'https://app.example.com',
    });
    try {
      for (const url of [`${production.url}/graphql`, `${stack.gateways.mobile!.url}/graphql`]) {
        const response = await fetch(url, { headers: { accept: 'text/html' } });
        expect(response.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
        expect(await response.text()).not.toMatch(/graphiql/i);
      }
    } finally {
      await production.close();
    }
  });
});
