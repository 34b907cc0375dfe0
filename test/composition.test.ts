import { describe, expect, test } from '@jest/globals';
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

  test.each(CLIENTS.filter((c) => c.contract).map((c) => [c.name, c] as const))('the committed %s contract supergraph is fresh', (name, client) => {
    if (!result.ok) throw new Error('composition failed');
    expect(readCommitted(clientSupergraphFile(client))).toBe(result.clientSupergraphs[name]);
  });
});
