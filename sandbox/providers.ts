import type { ProviderName } from '../subgraphs/registry.js';
import { sandboxProvider as accounts } from './accounts.js';
import { sandboxProvider as mailgun } from './mailgun.js';
import { sandboxProvider as mixpanel } from './mixpanel.js';
import { sandboxProvider as postmark } from './postmark.js';
import type { SandboxProvider } from './provider.js';
import { sandboxProvider as s3 } from './s3.js';
import { sandboxProvider as segment } from './segment.js';
import { sandboxProvider as sendgrid } from './sendgrid.js';

/**
 * The sandbox's providers by their registry names (subgraphs/registry.ts). Typed, so that a
 * provider the registry names and the sandbox lacks does not compile, and tests reach each
 * provider's own state (`sandbox.providers.sendgrid.sent`).
 */
export const SANDBOX_PROVIDERS = { accounts, sendgrid, postmark, mailgun, s3, segment, mixpanel } satisfies {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each provider has its own app type
  [name in ProviderName]: SandboxProvider<any>;
};
