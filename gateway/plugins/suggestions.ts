import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { GraphQLError } from 'graphql';

/** graphql-js's hints, for fields, types, arguments and enum values alike. */
const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * Validation errors without "Did you mean ...?": for clients that must not learn the schema
 * by guessing (mobile, and everyone in production), a wrong name is just unknown.
 */
export function useNoSuggestions(): GatewayPlugin {
  return {
    onValidate: () =>
      function withoutSuggestions({ valid, result, setResult }) {
        if (valid) return;
        setResult(
          result.map((error) => {
            const message = error.message.replace(SUGGESTION, '');
            return message === error.message ? error : new GraphQLError(message, error);
          }),
        );
      },
  };
}
