import {
  Kind,
  getNamedType,
  isAbstractType,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  valueFromAST,
  type DirectiveNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/**
 * Demand control: the estimated cost of an operation before it runs, from the `@cost` and
 * `@listSize` directives the subgraph SDLs declare (IBM's GraphQL cost spec, as Apollo
 * Federation composes it). Per item, an object costs its type's weight (1 unless `@cost`
 * says otherwise) plus what is selected in it; a scalar costs 0; a field adds its own
 * `@cost`. A list multiplies by its size: the value of a slicing argument (sent, or its
 * default), an `assumedSize`, or, for a list nothing declares, `unsizedList`. A connection
 * hands its slicing argument to its `sizedFields` (`nodes`). Over an abstract type, each item
 * is one concrete type: the most expensive branch counts, not the sum of them.
 */
export interface CostOptions {
  /** Items assumed for a list field without @listSize. */
  unsizedList: number;
  /** Cost of the operation type itself: mutations do work even when they select little. */
  mutation: number;
  /** Told when a list's size comes from a variable: the estimate holds for these variables only. */
  onVariableSize?: () => void;
}

interface ListSize {
  assumedSize?: number;
  slicingArguments?: string[];
  sizedFields?: string[];
}

/** `cost`, or the name a supergraph's @link gave it (`cost__cost`, `federation__cost`). */
const isDirective = (node: DirectiveNode, name: string) => node.name.value === name || node.name.value.endsWith(`__${name}`);

function directiveArgs(directives: readonly DirectiveNode[] | undefined, name: string): Record<string, unknown> | undefined {
  const directive = directives?.find((d) => isDirective(d, name));
  if (!directive) return undefined;
  return Object.fromEntries((directive.arguments ?? []).map((arg) => [arg.name.value, literal(arg.value)]));
}

/** A directive argument's literal: numbers, strings and lists of them. */
function literal(node: ValueNode): unknown {
  switch (node.kind) {
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.BOOLEAN:
      return node.value;
    case Kind.LIST:
      return node.values.map(literal);
    default:
      return undefined;
  }
}

const weightOf = (directives: readonly DirectiveNode[] | undefined): number | undefined => {
  const weight = directiveArgs(directives, 'cost')?.weight;
  return typeof weight === 'number' ? weight : undefined;
};

function listSizeOf(field: GraphQLField<unknown, unknown>): ListSize | undefined {
  const args = directiveArgs(field.astNode?.directives, 'listSize');
  if (!args) return undefined;
  return {
    assumedSize: typeof args.assumedSize === 'number' ? args.assumedSize : undefined,
    slicingArguments: Array.isArray(args.slicingArguments) ? args.slicingArguments.map(String) : undefined,
    sizedFields: Array.isArray(args.sizedFields) ? args.sizedFields.map(String) : undefined,
  };
}

const hasVariable = (node: ValueNode): boolean =>
  node.kind === Kind.VARIABLE ||
  (node.kind === Kind.LIST && node.values.some(hasVariable)) ||
  (node.kind === Kind.OBJECT && node.fields.some((field) => hasVariable(field.value)));

const isList = (type: GraphQLType): boolean => isListType(isNonNullType(type) ? type.ofType : type);

export function estimateCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
  options: CostOptions,
): number {
  const typeWeight = (type: GraphQLNamedType) => weightOf(type.astNode?.directives) ?? (isCompositeType(type) ? 1 : 0);

  /** The size of a list field, from its @listSize and the arguments sent. */
  function sizeOf(field: GraphQLField<unknown, unknown>, node: FieldNode, declared: ListSize | undefined): number {
    if (declared?.slicingArguments?.length) {
      let size: number | undefined;
      for (const name of declared.slicingArguments) {
        const definition = field.args.find((a) => a.name === name);
        const argument = node.arguments?.find((a) => a.name.value === name);
        if (argument && hasVariable(argument.value)) options.onVariableSize?.();
        const value = argument && definition ? valueFromAST(argument.value, definition.type, variables) : definition?.defaultValue;
        if (typeof value === 'number' && Number.isFinite(value)) size = Math.max(size ?? 0, Math.max(0, value));
      }
      if (size !== undefined) return size;
    }
    return declared?.assumedSize ?? options.unsizedList;
  }

  /** Cost of one item of `type` with this selection: the most expensive concrete type for an abstract one. */
  function selectionCost(selectionSet: SelectionSetNode, type: GraphQLNamedType, sized: ReadonlyMap<string, number>): number {
    const concrete: readonly GraphQLObjectType[] = isAbstractType(type) ? schema.getPossibleTypes(type) : isObjectType(type) ? [type] : [];
    if (concrete.length === 0) return 0;
    return Math.max(...concrete.map((object) => fieldsCost(selectionSet, object, sized)));
  }

  // A fragment spread many times costs its walk once per type (no exponential fragment chains).
  const fragmentCosts = new Map<string, number>();

  /** Cost of the fields an item of the object type `object` gets from this selection. */
  function fieldsCost(selectionSet: SelectionSetNode, object: GraphQLObjectType, sized: ReadonlyMap<string, number>): number {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        cost += fieldCost(selection, object, sized);
        continue;
      }
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : fragments[selection.name.value];
      if (!fragment) continue;
      const condition = fragment.typeCondition ? schema.getType(fragment.typeCondition.name.value) : object;
      const applies = !condition || condition === object || (isAbstractType(condition) && schema.isSubType(condition, object));
      if (!applies) continue;
      const memo = selection.kind === Kind.FRAGMENT_SPREAD && sized.size === 0 ? `${selection.name.value}\u0000${object.name}` : undefined;
      const known = memo === undefined ? undefined : fragmentCosts.get(memo);
      const spent = known ?? fieldsCost(fragment.selectionSet, object, sized);
      if (memo !== undefined) fragmentCosts.set(memo, spent);
      cost += spent;
    }
    return cost;
  }

  function fieldCost(node: FieldNode, parent: GraphQLObjectType, sized: ReadonlyMap<string, number>): number {
    const field = parent.getFields()[node.name.value];
    if (!field) return 0; // __typename and introspection fields
    const declared = listSizeOf(field);
    const returns = getNamedType(field.type);
    const own = weightOf(field.astNode?.directives) ?? 0;
    const items = sized.get(node.name.value) ?? (isList(field.type) ? sizeOf(field, node, declared) : 1);
    // A connection passes its slicing argument on to the fields it sizes (its `nodes`).
    const handedDown = new Map<string, number>();
    if (declared?.sizedFields?.length) {
      const size = sizeOf(field, node, declared);
      for (const name of declared.sizedFields) handedDown.set(name, size);
    }
    const perItem = typeWeight(returns) + (node.selectionSet ? selectionCost(node.selectionSet, returns, handedDown) : 0);
    return own + items * perItem;
  }

  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return 0;
  return (operation.operation === 'mutation' ? options.mutation : 0) + fieldsCost(operation.selectionSet, root, new Map());
}
