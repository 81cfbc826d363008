/**
 * The platform seam for index files (package.json `imports` `#index-files`, condition `node`): Node
 * (Deno and Bun too) reads and writes them. Elsewhere `#index-files` is index-files-unavailable.ts,
 * and an index comes from its bytes (`SparseIndex.fromBytes`).
 */
export { readIndexFile, writeIndexFile } from './file-format.js';
export { openOnDemand } from './file-postings.js';
