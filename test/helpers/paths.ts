import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found by walking up to package.json (works from test/ and dist/test/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** `../shared` beside the repository (CI lays it out the same way). */
export const SHARED = join(repoRoot(), '..', 'shared');
export const FIXTURES = join(SHARED, 'fixtures');
export const DATA = join(SHARED, 'data');
export const fixture = (name: string): string => join(FIXTURES, name);
