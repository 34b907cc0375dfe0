/**
 * `npm run token -- <userId> [scope ...] [--ttl seconds] [--email address]`: a development token the local
 * gateways accept, signed with JWT_SECRET (the local default unless set) for JWT_ISSUER and
 * JWT_AUDIENCE, with scopes of kit/caller/token.ts's SCOPES.
 */
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { parseCommandLine, runCommand, usageError, wholeNumber } from '../kit/process/cli.js';
import { SCOPES, isScope } from '../kit/caller/scopes.js';
import { ProcessConfig, loadConfig } from '../kit/process/config.js';

const usage = 'Usage: npm run token -- <userId> [scope ...] [--ttl seconds] [--email address]   e.g. npm run token -- usr_00001 admin';
await runCommand('token', async () => {
  const { positionals, values } = parseCommandLine(
    { allowPositionals: true, options: { ttl: { type: 'string', default: '3600' }, email: { type: 'string' } } },
    usage,
  );
  const [userId, ...scopes] = positionals;
  if (!userId || !/^[\w.@:-]{1,128}$/.test(userId)) usageError(usage);
  const unknown = scopes.filter((scope) => !isScope(scope));
  if (unknown.length) usageError(`unknown scope ${unknown.join(', ')}; scopes: ${Object.values(SCOPES).join(', ')}`);
  const config = loadConfig(ProcessConfig.extend(AuthConfig.shape), process.env);
  // Longer would be refused by the gateways (JWT_MAX_LIFETIME_SECONDS).
  const ttl = wholeNumber('ttl', values.ttl, 1, config.JWT_MAX_LIFETIME_SECONDS);
  if (config.JWT_JWKS_URL) usageError('JWT_JWKS_URL is set: tokens come from that identity provider, not from this script');
  const email = values.email;
  if (email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(email)) usageError('--email must be an email address');
  process.stdout.write(`${await mintToken(config, userId, scopes, ttl, { email })}\n`);
});
