import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../compose.js';

/** A file's path in the repository, as git and the report name it. */
export const repoPath = (file: URL) => relative(fileURLToPath(REPO_ROOT), fileURLToPath(file));
/** A file's text, or undefined when it does not exist. */
export const readIfExists = (file: URL) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);
