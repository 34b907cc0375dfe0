import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { GraphQLError, parse, type DocumentNode } from 'graphql';
import type { QueryLimits } from '../clients/types.js';
import { selectionLimitExceeded } from '../selections.js';
import { requestError } from '../errors.js';

/**
 * Bounds the CPU a document can cost before validation: parsing stops at the client's token
 * limit (graphql-js's own `maxTokens`), so a huge document costs only its first N tokens; a
 * document nested deeper than the parser's stack is refused, never answered with a stack
 * overflow; and a parsed document that selects too much, or one field too often at one place
 * (gateway/selections.ts), is refused in time linear in its size, before validation's pairwise
 * field comparisons run. Refused documents are not cached: each costs at most that again.
 */
export function useParserLimits(limits: QueryLimits): GatewayPlugin {
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => {
        let document: DocumentNode;
        try {
          document = parse(source, { ...options, maxTokens: limits.tokens });
        } catch (error) {
          if (error instanceof GraphQLError && /contains more th\w+ \d+ tokens/.test(error.message)) {
            throw requestError(`Token limit of ${limits.tokens} exceeded.`, 'GRAPHQL_PARSE_FAILED');
          }
          if (error instanceof RangeError) throw tooDeep();
          throw error;
        }
        let exceeded: string | undefined;
        try {
          exceeded = selectionLimitExceeded(document, limits);
        } catch (error) {
          if (error instanceof RangeError) throw tooDeep();
          throw error;
        }
        if (exceeded) throw requestError(exceeded, 'GRAPHQL_VALIDATION_FAILED');
        return document;
      });
    },
  };
}

const tooDeep = () => requestError('The document is nested too deeply.', 'GRAPHQL_PARSE_FAILED');
