/**
 * `npm run build`: the programs a deployment runs, compiled to dist/ in the shape of the
 * source tree (`node dist/gateway/index.js web`, `node dist/scripts/run-subgraph.js <name>`,
 * `node dist/sandbox/index.js`, `node dist/scripts/token.js`), with the files they read at
 * run time beside them: subgraph SDLs, the supergraphs, the mobile safelist.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
/** What the programs read at run time, by path below the repository. */
const RUNTIME_FILES = [
  /^subgraphs\/[^/]+\/schema\.graphql$/,
  /^schema\/[^/]+\.graphql$/,
  /^clients\/[^/]+\/persisted-query-manifest\.json$/,
  /^clients\/[^/]+\/releases\/[^/]+\.json$/,
];
const candidates = ['subgraphs', 'schema', 'clients'].flatMap((dir) =>
  readdirSync(`${root}${dir}`, { recursive: true, encoding: 'utf8' }).map((file) => `${dir}/${file.replaceAll('\\', '/')}`),
);

rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const copied = candidates.filter((file) => RUNTIME_FILES.some((pattern) => pattern.test(file)));
for (const file of copied) cpSync(`${root}${file}`, `${dist}/${file}`);
process.stdout.write(`built dist/ (${copied.length} runtime files copied beside the JavaScript)\n`);
