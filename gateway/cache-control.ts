import {
  Kind,
  TypeInfo,
  getNamedType,
  getOperationAST,
  isCompositeType,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';

/** One `@cacheControl` of a subgraph SDL, as composed into the supergraph (`@composeDirective`). */
interface Hint {
  maxAge?: number;
  scope?: 'PUBLIC' | 'PRIVATE';
  inheritMaxAge?: boolean;
}

/** What a response may be kept for, and by whom: private (the user's browser or app) or public (shared caches too). */
export interface CachePolicy {
  maxAge: number;
  scope: 'PUBLIC' | 'PRIVATE';
}

/** The hints of a supergraph, by `Type` and `Type.field`. */
export type CacheHints = ReadonlyMap<string, Hint>;

function hintOf(
  directives:
    ReadonlyArray<{ name: { value: string }; arguments?: ReadonlyArray<{ name: { value: string }; value: unknown }> }> | undefined,
) {
  const directive = directives?.find((d) => d.name.value === 'cacheControl');
  if (!directive) return undefined;
  const hint: Hint = {};
  for (const argument of directive.arguments ?? []) {
    const value = argument.value as { kind: Kind; value: string };
    if (argument.name.value === 'maxAge' && value.kind === Kind.INT) hint.maxAge = Number(value.value);
    if (argument.name.value === 'scope' && value.kind === Kind.ENUM) hint.scope = value.value === 'PRIVATE' ? 'PRIVATE' : 'PUBLIC';
    if (argument.name.value === 'inheritMaxAge' && value.kind === Kind.BOOLEAN) hint.inheritMaxAge = Boolean(value.value);
  }
  return hint;
}

/** Every `@cacheControl` a supergraph holds (the subgraphs declare them; composition keeps them). */
export function cacheHints(supergraph: DocumentNode): CacheHints {
  const hints = new Map<string, Hint>();
  for (const definition of supergraph.definitions) {
    if (!('name' in definition) || !definition.name || !('fields' in definition)) continue;
    const typeName = definition.name.value;
    const typeHint = hintOf(definition.directives);
    if (typeHint) hints.set(typeName, typeHint);
    for (const field of definition.fields ?? []) {
      const fieldHint = hintOf(field.directives);
      if (fieldHint) hints.set(`${typeName}.${field.name.value}`, fieldHint);
    }
  }
  return hints;
}

const NOT_CACHEABLE: CachePolicy = { maxAge: 0, scope: 'PRIVATE' };

/**
 * What an operation's answer may be kept for, by the rules of Apollo's cache control: a field's
 * own hint, else its type's; a hint with `inheritMaxAge` takes its parent's; without a hint a
 * root field or a field of an object type is not cacheable (0) and a leaf takes its parent's.
 * The answer is kept for the shortest of its fields, and privately if any of them is private.
 * Mutations and subscriptions are never cacheable.
 */
export function cachePolicy(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  hints: CacheHints,
): CachePolicy {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== 'query') return NOT_CACHEABLE;
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const typeInfo = new TypeInfo(schema);
  let maxAge = Number.POSITIVE_INFINITY;
  let scope: CachePolicy['scope'] = 'PUBLIC';
  // The max age of each field being visited, innermost last: what a field without a hint inherits.
  const ages: number[] = [];
  const enterField = () => {
    const parent = typeInfo.getParentType();
    const field = typeInfo.getFieldDef();
    if (!parent || !field || field.name.startsWith('__')) return void ages.push(ages.at(-1) ?? Number.POSITIVE_INFINITY);
    const returned = getNamedType(field.type);
    const fieldHint = hints.get(`${parent.name}.${field.name}`);
    const typeHint = isCompositeType(returned) ? hints.get(returned.name) : undefined;
    if (fieldHint?.scope === 'PRIVATE' || typeHint?.scope === 'PRIVATE') scope = 'PRIVATE';
    const inherited = ages.at(-1);
    const hinted =
      fieldHint?.maxAge ?? (fieldHint?.inheritMaxAge ? inherited : (typeHint?.maxAge ?? (typeHint?.inheritMaxAge ? inherited : undefined)));
    const age = hinted ?? (inherited === undefined || isCompositeType(returned) ? 0 : inherited);
    maxAge = Math.min(maxAge, age);
    ages.push(age);
  };
  const selection = {
    Field: { enter: enterField, leave: () => void ages.pop() },
    // A spread is walked where it is used, with the type it is used on.
    FragmentSpread: {
      enter(node: { name: { value: string } }) {
        const fragment = fragments.get(node.name.value);
        if (fragment) visit(fragment.selectionSet, visitWithTypeInfo(typeInfo, selection));
      },
    },
  };
  visit(operation, visitWithTypeInfo(typeInfo, selection));
  return maxAge === Number.POSITIVE_INFINITY || maxAge <= 0 ? NOT_CACHEABLE : { maxAge, scope };
}

/** The Cache-Control header of a policy: `no-store` when nothing may be kept. */
export const cacheControlHeader = ({ maxAge, scope }: CachePolicy) =>
  maxAge > 0 ? `max-age=${maxAge}, ${scope === 'PRIVATE' ? 'private' : 'public'}` : 'no-store';
