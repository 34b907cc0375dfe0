/**
 * Supergraph hot reload: a gateway watches its supergraph file (or polls a URL) and swaps to
 * a new supergraph once it builds, while requests keep flowing: none fails across a swap. A
 * supergraph that does not build is refused, logged and counted; the current one keeps
 * serving.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { web } from '../gateway/clients/web.js';
import { startGateway } from '../gateway/index.js';
import type { RunningService } from '../kit/process/service.js';
import { startShop, type RunningShop, type ShopSubgraph } from './fixtures/shop-graph.js';
import { as, until } from './helpers.js';

const WITHOUT_STOCK: ShopSubgraph[] = ['people', 'catalog', 'shipping', 'reviews'];
const WITH_STOCK: ShopSubgraph[] = [...WITHOUT_STOCK, 'stock'];
const IN_STOCK = '{ topProducts(first: 2) { upc inStock } }';
const STEADY = '{ me { username reviews { body product { upc name } } } }';

let shop: RunningShop;
let dir: string;
let authorization: Record<string, string>;
const closers: Array<() => Promise<unknown> | unknown> = [];
beforeAll(async () => {
  shop = await startShop();
  dir = mkdtempSync(join(tmpdir(), 'patchbay-reload-'));
  authorization = await as('u1');
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await shop?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function ask(gateway: RunningService, query: string) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authorization },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string } }> },
  };
}
const reloads = async (gateway: RunningService, outcome: string) =>
  Number(
    new RegExp(`patchbay_supergraph_reloads_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`).exec(
      await (await fetch(`${gateway.metricsUrl}/metrics`)).text(),
    )?.[1] ?? 0,
  );
/** Clients asking STEADY back to back until stopped; every answer is kept. */
function load(gateway: RunningService, clients = 4) {
  let running = true;
  const answers: Array<{ status: number; errors?: unknown }> = [];
  const done = Promise.all(
    Array.from({ length: clients }, async () => {
      while (running) {
        const { status, body } = await ask(gateway, STEADY);
        answers.push({ status, errors: body.errors });
      }
    }),
  );
  return {
    answers,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe('a supergraph file', () => {
  let gateway: RunningService;
  let file: string;
  beforeAll(async () => {
    file = join(dir, 'supergraph.graphql');
    writeFileSync(file, shop.supergraph(WITHOUT_STOCK));
    gateway = await startGateway(web, {
      WEB_SUPERGRAPH_PATH: file,
      WEB_GATEWAY_PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    closers.push(() => gateway.close());
  });

  test('swapped for a new one under load: the new field is served, no request fails', async () => {
    expect((await ask(gateway, IN_STOCK)).body.errors?.[0]?.message).toBe('Cannot query field "inStock" on type "Product".');
    const traffic = load(gateway);
    // Requests on the old supergraph, then across the swap, then on the new one.
    await until(() => traffic.answers.length >= 20, { everyMs: 10 });
    writeFileSync(file, shop.supergraph(WITH_STOCK));
    await until(async () => (await ask(gateway, IN_STOCK)).body.errors === undefined);
    const atSwap = traffic.answers.length;
    await until(() => traffic.answers.length >= atSwap + 20, { everyMs: 10 });
    await traffic.stop();
    expect(traffic.answers.filter((a) => a.status !== 200 || a.errors)).toEqual([]);
    expect(await reloads(gateway, 'applied')).toBe(1);
  }, 30_000);

  test('a supergraph that does not build is refused; the current one keeps serving', async () => {
    const traffic = load(gateway, 2);
    writeFileSync(file, 'schema { query: Query } type Query { broken: ');
    await until(async () => (await reloads(gateway, 'refused')) === 1);
    writeFileSync(file, 'type Query { notASupergraph: String }');
    await until(async () => (await reloads(gateway, 'refused')) === 2);
    await traffic.stop();
    expect(traffic.answers.filter((a) => a.status !== 200 || a.errors)).toEqual([]);
    expect((await ask(gateway, IN_STOCK)).body.errors).toBeUndefined();
    expect(await reloads(gateway, 'applied')).toBe(1);
  }, 30_000);
});

describe('a supergraph URL', () => {
  test('is polled, and a new supergraph served from it is swapped in', async () => {
    let current = shop.supergraph(WITHOUT_STOCK);
    const registry = http.createServer((_req, res) => res.setHeader('content-type', 'text/plain').end(current));
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    closers.push(() => registry.close());
    const gateway = await startGateway(web, {
      WEB_SUPERGRAPH_URL: `http://127.0.0.1:${(registry.address() as AddressInfo).port}/supergraph.graphql`,
      WEB_SUPERGRAPH_POLL_MS: '1000',
      WEB_GATEWAY_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    closers.push(() => gateway.close());
    expect((await ask(gateway, IN_STOCK)).body.errors?.map((error) => error.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    current = shop.supergraph(WITH_STOCK);
    await until(async () => (await ask(gateway, IN_STOCK)).body.errors === undefined);
    expect((await ask(gateway, IN_STOCK)).body.data).toEqual({
      topProducts: [
        { upc: 'p1', inStock: true },
        { upc: 'p2', inStock: true },
      ],
    });
  }, 30_000);
});
