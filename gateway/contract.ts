import {
  Kind,
  isTypeDefinitionNode,
  isTypeExtensionNode,
  visit,
  type ConstDirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
  type TypeNode,
} from 'graphql';

/**
 * Which part of the graph a client sees, by federation `@tag`. With `include`, an object or
 * interface field is in the contract when it, or its type, carries an included tag; with
 * `exclude`, a field or type carrying an excluded tag is out. Then, as in Apollo contracts,
 * whatever only leads to removed parts goes too: a field returning a removed type, an object
 * type with no field left, a type no query or mutation reaches any more.
 */
export interface Contract {
  include?: readonly string[];
  exclude?: readonly string[];
}

export interface SubgraphSdl {
  name: string;
  typeDefs: DocumentNode;
}

const ROOTS = ['Query', 'Mutation', 'Subscription'];
const BUILT_IN_SCALARS = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);

interface TypeInfo {
  kind: Kind;
  tags: Set<string>;
  /** Fields (object, interface, input) with their tags, named type and arguments. */
  fields: Map<string, { tags: Set<string>; type: string; args: Map<string, { type: string; required: boolean }> }>;
  /** Members of a union. */
  members: Set<string>;
}

const tagsOf = (directives: readonly ConstDirectiveNode[] | undefined) =>
  new Set(
    (directives ?? [])
      .filter((d) => d.name.value === 'tag')
      .flatMap((d) => d.arguments?.flatMap((a) => (a.value.kind === Kind.STRING ? [a.value.value] : [])) ?? []),
  );
const namedType = (type: TypeNode): string => (type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type));

/** The union of every subgraph's definitions of each type (types may span subgraphs). */
function collectTypes(subgraphs: readonly SubgraphSdl[]): Map<string, TypeInfo> {
  const types = new Map<string, TypeInfo>();
  for (const { typeDefs } of subgraphs) {
    for (const definition of typeDefs.definitions) {
      if (!isTypeDefinitionNode(definition) && !isTypeExtensionNode(definition)) continue;
      const name = definition.name.value;
      const info = types.get(name) ?? { kind: definition.kind, tags: new Set(), fields: new Map(), members: new Set() };
      types.set(name, info);
      for (const tag of tagsOf(definition.directives)) info.tags.add(tag);
      const fields =
        'fields' in definition ? ((definition.fields ?? []) as ReadonlyArray<FieldDefinitionNode | InputValueDefinitionNode>) : [];
      for (const field of fields) {
        const entry = info.fields.get(field.name.value) ?? { tags: new Set<string>(), type: namedType(field.type), args: new Map() };
        info.fields.set(field.name.value, entry);
        for (const tag of tagsOf(field.directives)) entry.tags.add(tag);
        for (const arg of 'arguments' in field ? (field.arguments ?? []) : []) {
          entry.args.set(arg.name.value, {
            type: namedType(arg.type),
            required: arg.type.kind === Kind.NON_NULL_TYPE && !arg.defaultValue,
          });
        }
      }
      if (definition.kind === Kind.UNION_TYPE_DEFINITION || definition.kind === Kind.UNION_TYPE_EXTENSION) {
        for (const member of definition.types ?? []) info.members.add(member.name.value);
      }
    }
  }
  return types;
}

/** The coordinates (`Type`, `Type.field`, `Type.field(arg:)`) a contract hides. */
export function hiddenCoordinates(subgraphs: readonly SubgraphSdl[], contract: Contract): Set<string> {
  const types = collectTypes(subgraphs);
  const include = new Set(contract.include ?? []);
  const exclude = new Set(contract.exclude ?? []);
  const hits = (tags: Set<string>, set: Set<string>) => [...tags].some((t) => set.has(t));
  const hidden = new Set<string>();
  const isOutput = (info: TypeInfo) => info.kind.startsWith('Object') || info.kind.startsWith('Interface');

  for (const [typeName, info] of types) {
    if (hits(info.tags, exclude)) hidden.add(typeName);
    if (!isOutput(info)) continue;
    for (const [fieldName, field] of info.fields) {
      const tagged = (set: Set<string>) => hits(field.tags, set) || hits(info.tags, set);
      if (tagged(exclude) || (include.size > 0 && !tagged(include))) hidden.add(`${typeName}.${fieldName}`);
    }
  }

  // What only leads to hidden parts is hidden too, until nothing changes.
  for (let changed = true; changed;) {
    changed = false;
    const hide = (coordinate: string) => {
      if (!hidden.has(coordinate)) {
        hidden.add(coordinate);
        changed = true;
      }
    };
    for (const [typeName, info] of types) {
      for (const [fieldName, field] of info.fields) {
        const coordinate = `${typeName}.${fieldName}`;
        if (hidden.has(field.type)) hide(coordinate);
        for (const [argName, arg] of field.args) {
          if (!hidden.has(arg.type)) continue;
          hide(arg.required ? coordinate : `${coordinate}(${argName}:)`);
        }
      }
      const visibleFields = [...info.fields.keys()].filter((f) => !hidden.has(`${typeName}.${f}`));
      if (info.fields.size > 0 && visibleFields.length === 0 && !hidden.has(typeName)) hide(typeName);
    }
    // Reachability from the root types over what is still visible.
    const reached = new Set<string>();
    const walk = (typeName: string) => {
      if (reached.has(typeName) || hidden.has(typeName) || !types.has(typeName)) return;
      reached.add(typeName);
      const info = types.get(typeName)!;
      for (const [fieldName, field] of info.fields) {
        if (hidden.has(`${typeName}.${fieldName}`)) continue;
        walk(field.type);
        for (const [argName, arg] of field.args) if (!hidden.has(`${typeName}.${fieldName}(${argName}:)`)) walk(arg.type);
      }
      for (const member of info.members) walk(member);
    };
    for (const root of ROOTS) walk(root);
    // What the subgraphs' own directives take (a @cacheControl scope) stays: the directives are in every schema.
    for (const { typeDefs } of subgraphs)
      for (const definition of typeDefs.definitions)
        if (definition.kind === Kind.DIRECTIVE_DEFINITION) for (const arg of definition.arguments ?? []) walk(namedType(arg.type));
    for (const typeName of types.keys()) {
      if (!reached.has(typeName) && !BUILT_IN_SCALARS.has(typeName)) hide(typeName);
    }
  }
  return hidden;
}

const inaccessible: ConstDirectiveNode = { kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: 'inaccessible' } };
const withInaccessible = <T extends { directives?: readonly ConstDirectiveNode[] }>(node: T): T => ({
  ...node,
  directives: [...(node.directives ?? []), inaccessible],
});

/**
 * The subgraphs as a client with this contract sees them: every hidden element carries
 * federation's `@inaccessible`, so the composed supergraph still plans joins through them
 * (a hidden key field still links entities) while the API schema leaves them out.
 */
export function applyContract(subgraphs: readonly SubgraphSdl[], contract: Contract): SubgraphSdl[] {
  const hidden = hiddenCoordinates(subgraphs, contract);
  return subgraphs.map(({ name, typeDefs }) => {
    let typeName = '';
    let fieldName = '';
    const edited = visit(typeDefs, {
      enter(node) {
        if (
          node.kind === Kind.OBJECT_TYPE_DEFINITION ||
          node.kind === Kind.OBJECT_TYPE_EXTENSION ||
          node.kind === Kind.INTERFACE_TYPE_DEFINITION ||
          node.kind === Kind.INTERFACE_TYPE_EXTENSION ||
          node.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION ||
          node.kind === Kind.ENUM_TYPE_DEFINITION ||
          node.kind === Kind.SCALAR_TYPE_DEFINITION ||
          node.kind === Kind.UNION_TYPE_DEFINITION
        ) {
          typeName = node.name.value;
          return hidden.has(typeName) ? withInaccessible(node) : undefined;
        }
        if (node.kind === Kind.FIELD_DEFINITION) {
          fieldName = node.name.value;
          // An @external field takes its accessibility from the subgraph that owns it.
          const external = node.directives?.some((d) => d.name.value === 'external');
          return hidden.has(`${typeName}.${fieldName}`) && !external ? withInaccessible(node) : undefined;
        }
        if (node.kind === Kind.INPUT_VALUE_DEFINITION && hidden.has(`${typeName}.${fieldName}(${node.name.value}:)`)) {
          return withInaccessible(node);
        }
        return undefined;
      },
      leave(node) {
        // The federation @link must import @inaccessible for the composer to know it (and only it: other links are other specs).
        const federationLink =
          node.kind === Kind.DIRECTIVE &&
          node.name.value === 'link' &&
          node.arguments?.some(
            (arg) =>
              arg.name.value === 'url' &&
              arg.value.kind === Kind.STRING &&
              arg.value.value.startsWith('https://specs.apollo.dev/federation/'),
          );
        if (node.kind === Kind.DIRECTIVE && federationLink) {
          return {
            ...node,
            arguments: node.arguments?.map((arg) =>
              arg.name.value === 'import' &&
              arg.value.kind === Kind.LIST &&
              !arg.value.values.some((v) => v.kind === Kind.STRING && v.value === '@inaccessible')
                ? { ...arg, value: { ...arg.value, values: [...arg.value.values, { kind: Kind.STRING, value: '@inaccessible' }] } }
                : arg,
            ),
          };
        }
        return undefined;
      },
    });
    return { name, typeDefs: edited };
  });
}
