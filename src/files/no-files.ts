/**
 * `#node-files` where there is no file system (browsers, workers: package.json imports, condition
 * `default`): the same functions as node-files.ts; paths that are not in memory are refused.
 * Portable: no Node built-in.
 */
import { SparseEncoderError } from '../errors.js';

function noFiles(path: string): never {
  throw new SparseEncoderError('ERR_NOT_SUPPORTED', `${path}: there is no file system here; hand the model's files over in memory (SparseEncoder.fromFiles)`, { details: { path } });
}

export const join = (base: string, ...parts: string[]): string => [base, ...parts].join('/');
export const dirname = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf('/')));
export const resolve = (path: string): string => path;
export const exists = async (path: string): Promise<boolean> => noFiles(path);
export const isFile = async (path: string): Promise<boolean> => noFiles(path);
export const readFile = async (path: string, _what: string, _maxBytes: number): Promise<Uint8Array> => noFiles(path);
export const readWeights = async (path: string, _what: string): Promise<Uint8Array> => noFiles(path);
export const readHead = async (path: string, _what: string, _n: number): Promise<Uint8Array> => noFiles(path);
export const assertModelTree = async (path: string): Promise<void> => noFiles(path);
