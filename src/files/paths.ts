/** Paths inside a model folder, as posix strings: portable (no Node built-in). */

/**
 * `rel` (a relative path from a config: a module folder, a shard name) joined onto the
 * posix-relative `folder` (`''` for the root) and normalised; undefined when it is absolute or
 * leads out of the root.
 */
export function joinInside(folder: string, rel: string): string | undefined {
  const slashed = rel.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) return undefined;
  const out: string[] = [];
  for (const part of `${folder}/${slashed}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.join('/');
}
