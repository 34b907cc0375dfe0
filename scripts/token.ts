/**
 * `npm run token -- <userId> [scope ...] [--ttl seconds]`: a development token the local
 * gateways accept, signed with JWT_SECRET (the local default unless set) for JWT_ISSUER and
 * JWT_AUDIENCE. Scopes: admin (everything), email:send, analytics:read.
 */
import { parseArgs } from 'node:util';
import { AuthConfig, mintToken } from '../gateway/auth.js';
import { usageError, wholeNumber } from '../kit/cli.js';
import { ConfigError, loadConfig } from '../kit/config.js';

const usage = 'Usage: npm run token -- <userId> [scope ...] [--ttl seconds]   e.g. npm run token -- usr_00001 admin';
const { positionals, values } = parseArgs({ allowPositionals: true, options: { ttl: { type: 'string', default: '3600' } } });
const [userId, ...scopes] = positionals;
if (!userId || !/^[\w.@:-]{1,128}$/.test(userId)) usageError(usage);
const ttl = wholeNumber('ttl', values.ttl, 1, 7 * 86_400);
let config: AuthConfig;
try {
  config = loadConfig(AuthConfig, process.env);
} catch (error) {
  usageError((error as ConfigError).message);
}
if (config.JWT_JWKS_URL) usageError('JWT_JWKS_URL is set: tokens come from that identity provider, not from this script');
process.stdout.write(`${await mintToken(config, userId, scopes, ttl)}\n`);
