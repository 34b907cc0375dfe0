import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { persistedManifest } from '../scripts/persisted.js';
import { buildSchema, parse, validate } from 'graphql';
import { CLIENTS, clientSupergraphFile, persistedManifestFile } from '../gateway/clients/index.js';
import { SUPERGRAPH_FILE, apiSchemaFile, composeAll, readCommitted } from '../scripts/compose.js';
import { CACHE_CONTROL_LINK, CACHE_CONTROL_SDL } from '../kit/subgraph/cache-control.js';
import { SUBGRAPH_NAMES } from '../subgraphs/registry.js';

describe('composition', () => {
  const result = composeAll();

  test('the subgraphs compose', () => {
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  test('the committed supergraph is what the subgraphs compose to (run `npm run compose` if not)', () => {
    if (!result.ok) throw new Error('composition failed');
    expect(readCommitted(SUPERGRAPH_FILE)).toBe(result.supergraph);
  });

  test.each(SUBGRAPH_NAMES)('%s declares @cacheControl as every subgraph does (kit/subgraph/cache-control.ts)', (name) => {
    const sdl = readFileSync(new URL(`../subgraphs/${name}/schema.graphql`, import.meta.url), 'utf8');
    expect({ link: sdl.includes(CACHE_CONTROL_LINK), declaration: sdl.includes(CACHE_CONTROL_SDL) }).toEqual({
      link: true,
      declaration: true,
    });
  });

  test.each(CLIENTS.map((c) => c.name))('the committed %s API schema is fresh', (client) => {
    if (!result.ok) throw new Error('composition failed');
    expect(readCommitted(apiSchemaFile(client))).toBe(result.apiSchemas[client]);
  });

  test.each(CLIENTS.filter((c) => c.contract).map((c) => [c.name, c] as const))(
    'the committed %s contract supergraph is fresh',
    (name, client) => {
      if (!result.ok) throw new Error('composition failed');
      expect(readCommitted(clientSupergraphFile(client))).toBe(result.clientSupergraphs[name]);
    },
  );
});

describe.each(CLIENTS.filter((client) => client.safelist).map((client) => [client.name, client] as const))(
  '%s persisted query manifest',
  (name, client) => {
    const committed = JSON.parse(readFileSync(persistedManifestFile(client), 'utf8')) as {
      operations: Array<{ name: string; body: string }>;
    };

    test(`is what clients/${name}/*.graphql generate (run \`npm run persisted\` if not)`, async () => {
      expect(committed).toEqual(JSON.parse(await persistedManifest(client, new URL('../', import.meta.url))));
    });

    test(`every operation in it is valid against the ${name} API schema`, () => {
      const schema = buildSchema(readFileSync(apiSchemaFile(name), 'utf8'));
      const invalid = committed.operations.flatMap((op) => validate(schema, parse(op.body)).map((e) => `${op.name}: ${e.message}`));
      expect(invalid).toEqual([]);
    });
  },
);
