import { envName } from '../../kit/process/env-name.js';
import { CACHE_CONTROL_LINK, CACHE_CONTROL_SDL } from '../../kit/subgraph/cache-control.js';

/** What `npm run new:subgraph` writes: every new file of a subgraph, from its names. */
export interface Names {
  /** billing */
  name: string;
  /** Billing */
  Name: string;
  /** BILLING */
  NAME: string;
  /** The client whose operation and test it writes: the first that sends its own queries (web). */
  client: string;
}

export function namesOf(name: string, client: string): Names {
  return { name, Name: name[0]!.toUpperCase() + name.slice(1), NAME: envName(name), client };
}

/** Every new file, by repository path. */
export function templates({ name, Name, NAME, client }: Names): Record<string, string> {
  return {
    [`subgraphs/${name}/schema.graphql`]: `extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@composeDirective", "@listSize"])
  ${CACHE_CONTROL_LINK}

${CACHE_CONTROL_SDL}
"An item of a user, from the ${name} provider."
type ${Name}Item @cacheControl(inheritMaxAge: true) {
  id: ID!
  title: String!
  createdAt: String!
}

"A user of the graph (accounts owns it); ${name} adds what it holds for them."
type User @key(fields: "id") {
  id: ID!
  "The user's ${name} items, oldest first."
  ${name}Items: [${Name}Item!]! @listSize(assumedSize: 10) @cacheControl(maxAge: 30, scope: PRIVATE)
}
`,
    [`subgraphs/${name}/config.ts`]: `import { z } from 'zod';
import { env } from '../../kit/process/config.js';
import { providerEntry, sandboxUrl } from '../registry.js';

/** Where the ${name} provider is and the key to call it with (locally, the sandbox's: production refuses it). */
export const ${Name}Config = z.object({
  ${NAME}_API_URL: env.upstreamUrl(sandboxUrl('${name}')),
  ${NAME}_API_KEY: env.secret(providerEntry('${name}').credentials.apiKey),
});
export type ${Name}Config = z.infer<typeof ${Name}Config>;
`,
    [`subgraphs/${name}/${name}-api.ts`]: `import { z } from 'zod';
import { STANDARD_BREAKER } from '../../kit/source/policies/breaker.js';
import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import { providerEntry } from '../registry.js';
import type { ${Name}Config } from './config.js';

/** The provider answers at most this many users in one call. */
export const MAX_USERS_PER_CALL = 100;

const ItemList = z.object({
  data: z.array(z.object({ user_id: z.string(), items: z.array(z.object({ id: z.string(), title: z.string(), created_at: z.string() })) })),
});

export interface ${Name}Item {
  id: string;
  title: string;
  createdAt: string;
}

/** Client of the ${name} provider (JSON REST, bearer key). */
export function create${Name}Api(config: ${Name}Config, resources: SubgraphResources) {
  const source = resources.source({
    name: providerEntry('${name}').source,
    baseUrl: config.${NAME}_API_URL,
    headers: { authorization: \`Bearer \${config.${NAME}_API_KEY}\`, accept: 'application/json' },
    timeoutMs: 2000,
    retry: { attempts: 3, on: [429, 502, 503, 504] },
    breaker: STANDARD_BREAKER,
    bulkhead: { maxConcurrent: 20, maxQueued: 100 },
  });
  return {
    source,
    /** The items of each user, in the order asked; a user the provider does not know has none. */
    async itemsOf(userIds: readonly string[]): Promise<${Name}Item[][]> {
      const response = await source.request({ operation: 'listItems', path: '/v1/items', query: { user_ids: userIds.join(',') } });
      const byUser = new Map(
        response.json(ItemList).data.map((entry) => [entry.user_id, entry.items.map((item) => ({ id: item.id, title: item.title, createdAt: item.created_at }))]),
      );
      return userIds.map((id) => byUser.get(id) ?? []);
    },
  };
}
export type ${Name}Api = ReturnType<typeof create${Name}Api>;
`,
    [`subgraphs/${name}/loaders.ts`]: `import { createLoader } from '../../kit/subgraph/loader.js';
import type { SubgraphContext } from '../../kit/subgraph/definition.js';
import { MAX_USERS_PER_CALL, type ${Name}Item } from './${name}-api.js';
import type { Dependencies } from './dependencies.js';

export function createLoaders({ ${name} }: Dependencies) {
  return {
    /** Items by user: the users of one request become one call per MAX_USERS_PER_CALL. */
    items: createLoader<string, ${Name}Item[]>((userIds) => ${name}.itemsOf(userIds), { maxBatchSize: MAX_USERS_PER_CALL, name: '${name}.items' }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
export type Context = SubgraphContext<Dependencies, Loaders>;
`,
    [`subgraphs/${name}/resolvers.ts`]: `import { requireSelf } from '../../kit/caller/scopes.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

export const resolvers: Resolvers = {
  User: {
    // A user's items are theirs (or the admin scope's), like every other user field.
    ${name}Items: async (user, _args, { caller, loaders }) => {
      requireSelf(caller, user.id);
      return loaders.items.load(user.id);
    },
  },
};
`,
    [`subgraphs/${name}/dependencies.ts`]: `import type { SubgraphResources } from '../../kit/subgraph/definition.js';
import type { ${Name}Config } from './config.js';
import { create${Name}Api } from './${name}-api.js';

/** What the resolvers and loaders reach upstream through. */
export const createDependencies = (config: ${Name}Config, resources: SubgraphResources) => ({ ${name}: create${Name}Api(config, resources) });
export type Dependencies = ReturnType<typeof createDependencies>;
`,
    [`subgraphs/${name}/index.ts`]: `import { defineSubgraph } from '../../kit/subgraph/definition.js';
import { REGISTRY } from '../registry.js';
import { ${Name}Config } from './config.js';
import { createLoaders } from './loaders.js';
import { resolvers } from './resolvers.js';
import { createDependencies } from './dependencies.js';

/** ${Name}: the ${name} provider's items of each user. */
export const subgraph = defineSubgraph({
  name: '${name}',
  defaultPort: REGISTRY.${name}.port,
  schemaFile: new URL('./schema.graphql', import.meta.url),
  config: ${Name}Config,
  resolvers,
  createDependencies,
  createLoaders,
});
`,
    [`sandbox/${name}.ts`]: `import { createHash } from 'node:crypto';
import { providerEntry } from '../subgraphs/registry.js';
import { createProviderApp, defineSandboxProvider, jsonError, type ProviderApp } from './provider.js';
import type { SeedUser } from './seed.js';

/** The items the provider holds for a user: none to three, the same on every run. */
export function itemsFor(userId: string) {
  const count = createHash('sha256').update(userId).digest()[0]! % 4;
  return Array.from({ length: count }, (_, i) => ({
    id: \`\${userId}-${name}-\${i + 1}\`,
    title: \`${Name} item \${i + 1}\`,
    created_at: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
  }));
}

/** The ${name} provider: \`GET /v1/items?user_ids=a,b\` (1 to 100 users), bearer key. */
export function create${Name}Sandbox({ users, apiKey }: { users: SeedUser[]; apiKey: string }): ProviderApp {
  const provider = createProviderApp('${name}', {
    errorBody: jsonError((status) => ({ error: status === 429 ? 'rate limited' : 'unavailable' })),
  });
  const known = new Set(users.map((user) => user.id));
  provider.app.use('/v1', (req, res, next) => {
    if (req.headers.authorization !== \`Bearer \${apiKey}\`) return void res.status(401).json({ error: 'invalid key' });
    next();
  });
  provider.route('get', '/v1/items', 'listItems', (req, res) => {
    const ids = String(req.query.user_ids ?? '')
      .split(',')
      .filter(Boolean);
    if (ids.length === 0 || ids.length > 100) return void res.status(400).json({ error: 'user_ids must name 1 to 100 users' });
    res.json({ data: ids.filter((id) => known.has(id)).map((id) => ({ user_id: id, items: itemsFor(id) })) });
  });
  return provider;
}

export const sandboxProvider = defineSandboxProvider({
  name: '${name}',
  create: (seed) => create${Name}Sandbox({ users: seed.users, apiKey: providerEntry('${name}').credentials.apiKey }),
  env: (url) => ({ ${NAME}_API_URL: url }),
});
`,
    [`clients/${client}/${Name}Items.graphql`]: `# A user's ${name} items, with their name: accounts, then one ${name} call.
# budget: accounts.api=1 ${name}.api=1
# Asked again at once: the user comes from the accounts cache; the items are asked again (no entity cache yet).
# warm budget: ${name}.api=1
# variables: {"userId": "$busyUser"}
query ${Name}Items($userId: ID!) {
  user(id: $userId) {
    id
    name
    ${name}Items {
      id
      title
      createdAt
    }
  }
}
`,
    [`test/${name}.test.ts`]: `/** The ${name} subgraph, through the ${client} gateway on a stack with the sandbox. */
import { afterAll, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { ${Name}ItemsDocument } from '../clients/${client}/__generated__/operations.js';
import { itemsFor } from '../sandbox/${name}.js';
import { startStack, type Stack } from '../scripts/stack.js';
import { as, graphql } from './helpers.js';

let stack: Stack;
let gateway: string;
beforeAll(async () => {
  stack = await startStack({ freePorts: true, env: { LOG_LEVEL: 'silent' } });
  gateway = \`\${stack.gateways['${client}']!.url}/graphql\`;
});
afterAll(() => stack?.close());
beforeEach(() => stack.sandbox.resetCalls());

test("a user's items come from the provider, joined to the user, in one call to it", async () => {
  const user = stack.sandbox.seed.users.find((u) => itemsFor(u.id).length > 0)!;
  const { body } = await graphql(gateway, ${Name}ItemsDocument, { userId: user.id }, await as(user.id));
  expect(body.errors).toBeUndefined();
  expect(body.data!.user).toEqual({
    id: user.id,
    name: user.name,
    ${name}Items: itemsFor(user.id).map((item) => ({ id: item.id, title: item.title, createdAt: item.created_at })),
  });
  expect(stack.sandbox.calls().${name}).toEqual({ listItems: 1 });
});

test("another user's items are refused", async () => {
  const [owner, other] = stack.sandbox.seed.users;
  const { body } = await graphql(gateway, ${Name}ItemsDocument, { userId: owner!.id }, await as(other!.id));
  expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  expect(stack.sandbox.calls().${name}).toEqual({});
});
`,
  };
}
