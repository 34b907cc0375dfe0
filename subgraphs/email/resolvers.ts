import { randomUUID } from 'node:crypto';
import { pageSize } from '../../kit/args.js';
import { requireScope, requireSelf } from '../../kit/caller.js';
import { badUserInput } from '../../kit/errors.js';
import { DateTimeScalar } from '../../kit/scalars.js';
import type { Resolvers } from './__generated__/resolvers-types.js';
import { sendWithFallback } from './source.js';

/** Sending mail to any address is not every user's right. */
const SEND_EMAIL = 'email:send';

const EMAIL = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/;

/** The @requires'd email arrives with the reference; without it the gateway sent a bad plan. */
function requiredEmail(parent: { email?: string | null }): string {
  if (!parent.email) throw new Error('User.email was not provided by the query plan');
  return parent.email.toLowerCase();
}

export const resolvers: Resolvers = {
  DateTime: DateTimeScalar,
  User: {
    emailMessages: (parent, { first }, { caller, loaders }) => {
      requireSelf(caller, parent.id);
      return loaders.messages.load({ address: requiredEmail(parent), first: pageSize(first, 'first', 100, 10) });
    },
    emailDeliverability: async (parent, _args, { caller, loaders }) => {
      requireSelf(caller, parent.id);
      return (await loaders.bounced.load(requiredEmail(parent))) ? 'BOUNCED' : 'DELIVERABLE';
    },
  },
  Mutation: {
    sendEmail: async (_parent, { input }, { caller, sources, logger }) => {
      requireScope(caller, SEND_EMAIL);
      const to = input.to.trim();
      if (!EMAIL.test(to) || to.length > 254) throw badUserInput('input.to must be a single email address', 'input.to');
      const subject = input.subject.trim();
      if (subject.length < 1 || subject.length > 998) throw badUserInput('input.subject must be 1 to 998 characters', 'input.subject');
      if (!input.text && !input.html) throw badUserInput('input.text or input.html is required', 'input.text');
      const categories = input.categories ?? [];
      if (categories.length > 10 || categories.some((c) => c.length < 1 || c.length > 255)) {
        throw badUserInput('input.categories takes up to 10 names of 1 to 255 characters', 'input.categories');
      }
      const sendId = randomUUID();
      const mail = { to, subject, text: input.text ?? undefined, html: input.html ?? undefined, categories, sendId };
      const { messageId, provider } = await sendWithFallback(sources.sendgrid, sources.postmark, mail);
      logger.info({ sendId, messageId, provider }, 'email accepted');
      return { messageId, sendId, provider };
    },
  },
};
