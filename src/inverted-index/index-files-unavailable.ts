/**
 * `#index-files` where there is no file system (browsers, edge workers; package.json `imports`,
 * condition `default`): the same functions as index-files-node.ts, each refusing with a typed error.
 * Portable: it imports only types.
 */
import { SparseEncoderError } from '../errors.js';
import type * as NodeFiles from './index-files-node.js';

function unavailable(what: string): never {
  throw new SparseEncoderError('ERR_NOT_SUPPORTED', `${what} needs a file system (Node, Deno or Bun); here, open an index from its bytes with SparseIndex.fromBytes`);
}

export const readIndexFile: typeof NodeFiles.readIndexFile = async () => unavailable('opening an index file');
export const writeIndexFile: typeof NodeFiles.writeIndexFile = async () => unavailable('saving an index file');
export const openOnDemand: typeof NodeFiles.openOnDemand = async () => unavailable('opening an index file on demand');
