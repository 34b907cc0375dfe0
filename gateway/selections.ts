import { Kind, type DocumentNode, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';

/** How much a document may ask for before it is validated (gateway/plugins/parser-limits.ts). */
export interface SelectionLimits {
  /** Selections (fields, fragment spreads, inline fragments) in the document, fragments expanded. */
  selections: number;
  /** Times one response key may be selected at one place of the response. */
  fieldRepeats: number;
}

/**
 * Why a document asks for too much, or undefined. GraphQL validation compares every pair of
 * fields that land on the same response key (OverlappingFieldsCanBeMerged), and their
 * sub-selections pairwise again, so its time grows with the square of the repeats: a 5 KB
 * `{ me { id } me { id } ... }` costs 100 ms of CPU to validate. This walk merges what lands at
 * each place of the response the way execution would, across fragments and inline fragments,
 * counting as it goes and stopping at the first limit crossed, so it costs at most
 * `selections` steps, whatever the document. Operations and fragment definitions are all
 * walked, as validation reads them all.
 */
export function selectionLimitExceeded(document: DocumentNode, limits: SelectionLimits): string | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  let selections = 0;
  /** Fragments being expanded on the current path: a cycle is validation's to report, not ours to follow. */
  const expanding = new Set<string>();

  class LimitExceeded {
    constructor(readonly reason: string) {}
  }
  const step = () => {
    if (++selections > limits.selections) throw new LimitExceeded(`Selection limit of ${limits.selections} exceeded.`);
  };

  /** Visits one place of the response: every selection set merged there. */
  const visit = (sets: readonly SelectionSetNode[]) => {
    const merged = new Map<string, { count: number; sets: SelectionSetNode[] }>();
    const collect = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        step();
        if (selection.kind === Kind.INLINE_FRAGMENT) {
          collect(selection.selectionSet);
        } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || expanding.has(name)) continue;
          expanding.add(name);
          collect(fragment.selectionSet);
          expanding.delete(name);
        } else {
          const key = selection.alias?.value ?? selection.name.value;
          let entry = merged.get(key);
          if (!entry) merged.set(key, (entry = { count: 0, sets: [] }));
          if (++entry.count > limits.fieldRepeats) {
            throw new LimitExceeded(
              `Repeated field limit of ${limits.fieldRepeats} exceeded: "${key}" is selected more than ${limits.fieldRepeats} times at one place.`,
            );
          }
          if (selection.selectionSet) entry.sets.push(selection.selectionSet);
        }
      }
    };
    for (const set of sets) collect(set);
    for (const { sets: below } of merged.values()) if (below.length) visit(below);
  };

  try {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) {
        if (definition.kind === Kind.FRAGMENT_DEFINITION) expanding.add(definition.name.value);
        visit([definition.selectionSet]);
        expanding.clear();
      }
    }
    return undefined;
  } catch (error) {
    if (error instanceof LimitExceeded) return error.reason;
    throw error;
  }
}
