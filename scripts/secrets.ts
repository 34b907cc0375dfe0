/**
 * `npm run secrets`: a fresh value for every secret production needs, as `KEY=value` lines for
 * a `.env` file (or a Kubernetes secret: `kubectl create secret generic --from-env-file`). The
 * list comes from the configuration schemas (scripts/variables.ts); each secret's value has
 * the shape its setting checks. The sandbox accepts the same variables, so these also rehearse
 * production against it (`npm run rehearse`).
 */
import { randomBytes } from 'node:crypto';
import { runCommand } from '../kit/process/cli.js';
import { isMainModule } from '../kit/process/service.js';
import { settings } from './variables.js';

/** Every secret of production with a fresh value, and any variable that goes with one (the other half of a key pair). */
export function freshSecrets(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const setting of settings().filter((s) => s.rule === 'secret')) {
    const made = setting.generate?.() ?? randomBytes(32).toString('base64url');
    Object.assign(values, typeof made === 'string' ? { [setting.name]: made } : made);
  }
  return values;
}

if (isMainModule(import.meta.url)) {
  await runCommand('secrets', async () => {
    const lines = Object.entries(freshSecrets()).map(([name, value]) => `${name}=${value}`);
    process.stdout.write(
      [
        `# Secrets of a patchbay deployment, made ${new Date().toISOString()} by npm run secrets.`,
        '# Keep this file out of version control. SANDBOX_* is read by the sandbox only, for a rehearsal.',
        ...lines,
        '',
      ].join('\n'),
    );
  });
}
