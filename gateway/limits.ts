import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  GraphQLError,
  Kind,
  Lexer,
  Source,
  TokenKind,
  getNamedType,
  isListType,
  isNonNullType,
  valueFromAST,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** What one client's operations may cost the graph. */
export interface QueryLimits {
  /** Deepest field nesting. */
  depth: number;
  /** Aliases in one operation (each alias can repeat a costly field). */
  aliases: number;
  /** Lexical tokens in the document. */
  tokens: number;
  /** Estimated cost: one per field, times the page size of the lists around it. */
  cost: number;
}

/** Arguments that say how many items a list field returns. */
const PAGE_SIZE_ARGUMENTS = ['first', 'last', 'limit'];
/** Items assumed for a list field that states no page size. */
export const UNSIZED_LIST = 10;

const exceeded = (limit: string, max: number, found: number) => `${limit} limit of ${max} exceeded, found ${found}.`;

/** Counts the document's tokens, all of them, so the error can say by how much. */
function tokenLimit(max: number): ValidationRule {
  return (context) => ({
    Document(node) {
      const lexer = new Lexer(node.loc?.source ?? new Source(''));
      let count = 0;
      while (lexer.advance().kind !== TokenKind.EOF) count++;
      if (count > max) context.reportError(new GraphQLError(exceeded('Token', max, count)));
    },
  });
}

/**
 * Estimated cost of an operation with its variables: every field costs 1, multiplied by the
 * length of each list above it. A list is as long as its page size argument (`first`,
 * `last`, `limit`: the value sent, or the argument's default), or its connection's (the
 * `nodes` of `files(first: 5)`), or else UNSIZED_LIST.
 */
export function estimateCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown> = {},
): number {
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  const pageSize = (field: GraphQLField<unknown, unknown>, args: ReadonlyMap<string, unknown>): number | undefined => {
    for (const name of PAGE_SIZE_ARGUMENTS) {
      const definition = field.args.find((a) => a.name === name);
      if (!definition) continue;
      const value = args.has(name) ? args.get(name) : definition.defaultValue;
      if (typeof value === 'number') return Math.max(0, value);
    }
    return undefined;
  };

  /** `pageOf`: the page size a sized connection field hands to the list inside it (`nodes`). */
  const walk = (selectionSet: SelectionSetNode, type: GraphQLNamedType, multiplier: number, pageOf: number | undefined, seen: Set<string>): number => {
    let cost = 0;
    const fields = 'getFields' in type ? type.getFields() : {};
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const target = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) ?? type : type;
        cost += walk(selection.selectionSet, target, multiplier, pageOf, seen);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments[selection.name.value];
        if (!fragment || seen.has(fragment.name.value)) continue;
        const target = schema.getType(fragment.typeCondition.name.value) ?? type;
        cost += walk(fragment.selectionSet, target, multiplier, pageOf, new Set([...seen, fragment.name.value]));
        continue;
      }
      const field = (fields as Record<string, GraphQLField<unknown, unknown>>)[selection.name.value];
      if (!field) continue; // __typename and introspection: free
      cost += multiplier;
      if (!selection.selectionSet) continue;
      const args = new Map<string, unknown>();
      for (const argument of selection.arguments ?? []) {
        const definition = field.args.find((a) => a.name === argument.name.value);
        if (definition) args.set(argument.name.value, valueFromAST(argument.value, definition.type, variables));
      }
      const size = pageSize(field, args);
      const unwrapped = isNonNullType(field.type) ? field.type.ofType : field.type;
      // A list is as long as its own size argument, its connection's, or UNSIZED_LIST;
      // an object (a connection) passes its size argument on to the list inside it.
      const next = isListType(unwrapped)
        ? walk(selection.selectionSet, getNamedType(field.type), multiplier * (size ?? pageOf ?? UNSIZED_LIST), undefined, seen)
        : walk(selection.selectionSet, getNamedType(field.type), multiplier, size, seen);
      cost += next;
    }
    return cost;
  };
  return root ? walk(operation.selectionSet, root, 1, undefined, new Set()) : 0;
}

function costLimit(max: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, schema }) {
          if (!operation) return;
          const fragments = Object.fromEntries(
            document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
          );
          const cost = estimateCost(schema, operation, fragments, request.variables ?? {});
          if (cost > max) {
            throw new GraphQLError(exceeded('Cost', max, cost), { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } });
          }
        },
      };
    },
  };
}

/** Validation rules and plugins that hold a client's operations to its limits. */
export function queryLimits(limits: QueryLimits): { validationRules: ValidationRule[]; plugins: ApolloServerPlugin[] } {
  // graphql-armor measures depth, aliases and directives. Its errors carry a "Syntax Error: "
  // prefix and abort validation by throwing; they are reported as plain validation errors.
  const report = (context: ValidationContext | null, error: GraphQLError) =>
    context?.reportError(new GraphQLError(error.message.replace(/^Syntax Error: /, '')));
  const rejection = { propagateOnRejection: false, onReject: [report] };
  const armor = new ApolloArmor({
    maxDepth: { n: limits.depth, ignoreIntrospection: true, ...rejection },
    maxAliases: { n: limits.aliases, ...rejection },
    maxDirectives: { n: 50, ...rejection },
    maxTokens: { enabled: false },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();
  return {
    validationRules: [...(armor.validationRules as ValidationRule[]), tokenLimit(limits.tokens)],
    plugins: [...(armor.plugins as ApolloServerPlugin[]), costLimit(limits.cost)],
  };
}
