import { mobile } from './mobile.js';
import type { ClientConfig } from './types.js';
import { web } from './web.js';

export type { ClientConfig } from './types.js';
export const CLIENTS: readonly ClientConfig[] = [web, mobile];

export function clientByName(name: string): ClientConfig | undefined {
  return CLIENTS.find((c) => c.name === name);
}
