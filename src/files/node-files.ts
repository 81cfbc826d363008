/**
 * `#node-files` under the `node` condition (Node, Deno, Bun): model files on disk, read with
 * local-files.ts's checks (regular files only, bounded sizes, symlinks inside the folder).
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
export { dirname, join, resolve } from 'node:path';
export { assertModelTree } from './local-files.js';
import { readFileHead, readRegularFile, readWholeFile } from './local-files.js';

export function exists(path: string): Promise<boolean> {
  return Promise.resolve(existsSync(path));
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function readFile(path: string, what: string, maxBytes: number): Promise<Uint8Array> {
  return readRegularFile(path, what, maxBytes);
}

export function readWeights(path: string, what: string): Promise<Uint8Array> {
  return readWholeFile(path, what);
}

export function readHead(path: string, what: string, n: number): Promise<Uint8Array> {
  return readFileHead(path, what, n);
}
