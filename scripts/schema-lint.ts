import { Kind, isTypeDefinitionNode, isTypeExtensionNode, type DocumentNode, type FieldDefinitionNode, type TypeNode } from 'graphql';

/** The rules subgraph SDLs are held to; the README lists them. */
export const LINT_RULES = {
  'type-description': 'Every type has a description (in at least one subgraph that defines it).',
  'root-field-description': 'Every Query and Mutation field has a description.',
  'bounded-list':
    'A list of objects carries @listSize (slicingArguments naming its page-size arguments, or an assumedSize), or is one of the sizedFields of the field that returns its type: demand control counts it by that.',
  naming: 'Types PascalCase, fields and arguments camelCase, enum values UPPER_CASE, input types end in Input.',
} as const;
export type LintRule = keyof typeof LINT_RULES;

export interface LintFinding {
  rule: LintRule;
  subgraph: string;
  coordinate: string;
  message: string;
}

const PASCAL = /^[A-Z][A-Za-z0-9]*$/;
const CAMEL = /^[a-z][A-Za-z0-9]*$/;
const UPPER = /^[A-Z][A-Z0-9_]*$/;
const FEDERATION_TYPES = new Set(['_Any', '_Entity', '_Service', 'FieldSet', 'link__Import', 'link__Purpose']);

const isList = (type: TypeNode): boolean => (type.kind === Kind.NON_NULL_TYPE ? isList(type.type) : type.kind === Kind.LIST_TYPE);
const named = (type: TypeNode): string => (type.kind === Kind.NAMED_TYPE ? type.name.value : named(type.type));

/** The arguments of a field's @listSize, or undefined without one. */
function listSizeOf(field: FieldDefinitionNode): { assumedSize?: unknown; slicingArguments: string[]; sizedFields: string[] } | undefined {
  const directive = field.directives?.find((d) => d.name.value === 'listSize' || d.name.value.endsWith('__listSize'));
  if (!directive) return undefined;
  const strings = (name: string) => {
    const value = directive.arguments?.find((a) => a.name.value === name)?.value;
    return value?.kind === Kind.LIST ? value.values.flatMap((v) => (v.kind === Kind.STRING ? [v.value] : [])) : [];
  };
  const assumed = directive.arguments?.find((a) => a.name.value === 'assumedSize')?.value;
  return {
    assumedSize: assumed?.kind === Kind.INT ? Number(assumed.value) : undefined,
    slicingArguments: strings('slicingArguments'),
    sizedFields: strings('sizedFields'),
  };
}

export function lintSubgraphs(subgraphs: ReadonlyArray<{ name: string; typeDefs: DocumentNode }>): LintFinding[] {
  const findings: LintFinding[] = [];
  const described = new Set<string>();
  const definedIn = new Map<string, string[]>();
  const objectTypes = new Set<string>();
  /** `Type.field` of every list a connection's @listSize sizes (`UserConnection.nodes`). */
  const sizedByParent = new Set<string>();

  for (const { name: subgraph, typeDefs } of subgraphs) {
    for (const definition of typeDefs.definitions) {
      if (!isTypeDefinitionNode(definition) && !isTypeExtensionNode(definition)) continue;
      const typeName = definition.name.value;
      if (FEDERATION_TYPES.has(typeName)) continue;
      if (definition.kind === Kind.OBJECT_TYPE_DEFINITION || definition.kind === Kind.INTERFACE_TYPE_DEFINITION) objectTypes.add(typeName);
      if ('description' in definition && definition.description) described.add(typeName);
      if (isTypeDefinitionNode(definition)) definedIn.set(typeName, [...(definedIn.get(typeName) ?? []), subgraph]);
      for (const field of ('fields' in definition ? (definition.fields ?? []) : []) as ReadonlyArray<FieldDefinitionNode>) {
        for (const sized of listSizeOf(field)?.sizedFields ?? []) sizedByParent.add(`${named(field.type)}.${sized}`);
      }
    }
  }

  for (const { name: subgraph, typeDefs } of subgraphs) {
    const report = (rule: LintRule, coordinate: string, message: string) => findings.push({ rule, subgraph, coordinate, message });
    for (const definition of typeDefs.definitions) {
      if (!isTypeDefinitionNode(definition) && !isTypeExtensionNode(definition)) continue;
      const typeName = definition.name.value;
      if (FEDERATION_TYPES.has(typeName)) continue;
      const isRoot = typeName === 'Query' || typeName === 'Mutation';
      if (!PASCAL.test(typeName)) report('naming', typeName, `type ${typeName} is not PascalCase`);
      const isInput = definition.kind === Kind.INPUT_OBJECT_TYPE_DEFINITION || definition.kind === Kind.INPUT_OBJECT_TYPE_EXTENSION;
      if (isInput && !typeName.endsWith('Input')) report('naming', typeName, `input type ${typeName} does not end in Input`);
      if (!isRoot && !described.has(typeName) && definedIn.get(typeName)?.[0] === subgraph) {
        report('type-description', typeName, `type ${typeName} has no description`);
      }
      if ('values' in definition) {
        for (const value of definition.values ?? []) {
          if (!UPPER.test(value.name.value))
            report('naming', `${typeName}.${value.name.value}`, `enum value ${typeName}.${value.name.value} is not UPPER_CASE`);
        }
      }
      if (!('fields' in definition)) continue;
      for (const field of (definition.fields ?? []) as ReadonlyArray<FieldDefinitionNode>) {
        const coordinate = `${typeName}.${field.name.value}`;
        if (!CAMEL.test(field.name.value)) report('naming', coordinate, `field ${coordinate} is not camelCase`);
        for (const arg of field.arguments ?? []) {
          if (!CAMEL.test(arg.name.value))
            report('naming', `${coordinate}(${arg.name.value}:)`, `argument ${coordinate}(${arg.name.value}:) is not camelCase`);
        }
        if (isRoot && !field.description) report('root-field-description', coordinate, `${coordinate} has no description`);
        const listSize = isInput ? undefined : listSizeOf(field);
        const unknownSlicing = listSize?.slicingArguments.filter((name) => !field.arguments?.some((a) => a.name.value === name)) ?? [];
        if (unknownSlicing.length)
          report('bounded-list', coordinate, `${coordinate} @listSize slices by ${unknownSlicing.join(', ')}, which it does not take`);
        if (isInput || !isList(field.type) || !objectTypes.has(named(field.type))) continue;
        const counted = listSize && (listSize.assumedSize !== undefined || listSize.slicingArguments.length > 0);
        if (!counted && !sizedByParent.has(coordinate)) {
          report(
            'bounded-list',
            coordinate,
            `${coordinate} returns a list of ${named(field.type)} without @listSize (slicingArguments or assumedSize): demand control cannot count it`,
          );
        }
      }
    }
  }
  return findings;
}
