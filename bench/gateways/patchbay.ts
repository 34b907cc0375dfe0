/**
 * patchbay's web gateway with the policies WITHOUT_POLICIES names (comma-separated) left out,
 * for the benchmark's price of each policy; otherwise exactly `node dist/gateway/index.js web`.
 */
import { clientByName } from '../../gateway/clients/index.js';
import { startGateway } from '../../gateway/index.js';
import { POLICIES, type Policy } from '../../gateway/runtime.js';
import { runProcess } from '../../kit/process/service.js';

const without = new Set((process.env.WITHOUT_POLICIES ?? '').split(',').filter(Boolean));
const unknown = [...without].filter((name) => !(POLICIES as readonly string[]).includes(name));
if (unknown.length) throw new Error(`WITHOUT_POLICIES: unknown ${unknown.join(', ')}; policies: ${POLICIES.join(', ')}`);
await runProcess('gateway-web', async () => [await startGateway(clientByName('web')!, process.env, { without: without as Set<Policy> })]);
