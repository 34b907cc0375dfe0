import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { generatePersistedQueryManifest } from '@apollo/generate-persisted-query-manifest';
import { buildSchema, parse, validate } from 'graphql';
import { CLIENTS, clientSupergraphFile } from '../gateway/clients/index.js';
import { SUPERGRAPH_FILE, apiSchemaFile, composeAll, readCommitted } from '../scripts/compose.js';

describe('composition', () => {
  const result = composeAll();

  test('the subgraphs compose', () => {
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  test('the committed supergraph is what the subgraphs compose to (run `npm run compose` if not)', () => {
    if (!result.ok) throw new Error('composition failed');
    expect(readCommitted(SUPERGRAPH_FILE)).toBe(result.supergraph);
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

describe('mobile persisted query manifest', () => {
  const committedFile = new URL('../clients/mobile/persisted-query-manifest.json', import.meta.url);
  const committed = JSON.parse(readFileSync(committedFile, 'utf8')) as { operations: Array<{ name: string; body: string }> };

  test('is what clients/mobile/*.graphql generate (run `npm run persisted` if not)', async () => {
    const config = JSON.parse(readFileSync(new URL('../persisted-query-manifest.config.json', import.meta.url), 'utf8'));
    const generated = await generatePersistedQueryManifest(
      { documents: config.documents },
      fileURLToPath(new URL('../persisted-query-manifest.config.json', import.meta.url)),
    );
    expect(committed).toEqual(generated);
  });

  test('every operation in it is valid against the mobile API schema', () => {
    const schema = buildSchema(readFileSync(apiSchemaFile('mobile'), 'utf8'));
    const invalid = committed.operations.flatMap((op) => validate(schema, parse(op.body)).map((e) => `${op.name}: ${e.message}`));
    expect(invalid).toEqual([]);
  });
});
