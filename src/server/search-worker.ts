import { parentPort, workerData } from 'node:worker_threads';
import { SparseEncoderError } from '../errors.js';
import { openIndex, type SearchableIndex } from '../inverted-index/open-index.js';
import { approximateSettings } from '../inverted-index/search-settings.js';
import type { SearchOptions } from '../inverted-index/types.js';
import { intersection, type SparseVector } from '../sparse/vector.js';
import type { ExplainedHit, FromSearchWorker, ToSearchWorker } from './protocol.js';

/**
 * Entry point of a search worker thread: opens its own view of the index file and answers one
 * search request at a time, off the server's main thread, so that /health and small requests stay
 * fast while heavy searches run. Every few milliseconds it yields, so a cancel can land.
 */
const port = parentPort;
if (port === null) throw new Error('search-worker must run in a worker thread');
const { indexPath, cacheBytes } = workerData as { indexPath: string; cacheBytes?: number };
const SLICE_MS = 5;

function send(message: FromSearchWorker): void {
  port!.postMessage(message);
}

let index: SearchableIndex;
try {
  index = await openIndex(indexPath, cacheBytes !== undefined ? { cacheBytes } : {});
} catch (err) {
  const e = err instanceof SparseEncoderError ? err : new SparseEncoderError('ERR_INTERNAL', (err as Error).message);
  send({ type: 'load-failed', error: { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) } });
  process.exit(0);
}
const cancelled = new Set<number>();

port.on('message', (m: ToSearchWorker) => {
  if (m.type === 'cancel') {
    cancelled.add(m.id);
    return;
  }
  if (m.type === 'close') {
    void index.dispose();
    port.close();
    return;
  }
  void (async () => {
    const results: Array<{ hits: ExplainedHit[] }> = [];
    const options: SearchOptions = { k: m.k, exact: m.exact, fields: m.fields, ...approximateSettings(m) };
    let slice = performance.now();
    try {
      for (const v of m.vectors) {
        const query = { indices: v.indices, values: v.values, dim: index.dim };
        const hits: ExplainedHit[] = index.search(query, options);
        if (m.explain) for (const h of hits) h.contributions = contributions(query, index.get(h.id).vector);
        results.push({ hits });
        if (performance.now() - slice > SLICE_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          if (cancelled.has(m.id)) throw new SparseEncoderError('ERR_CANCELLED', 'cancelled: the client went away');
          slice = performance.now();
        }
      }
      send({ type: 'result', id: m.id, results });
    } catch (err) {
      const e = err instanceof SparseEncoderError ? err : new SparseEncoderError('ERR_INTERNAL', (err as Error).message);
      send({ type: 'failed', id: m.id, error: { code: e.code, message: e.message } });
    } finally {
      cancelled.delete(m.id);
    }
  })();
});
send({ type: 'ready', size: index.size, dim: index.dim, info: index.info() });

/** The query × stored document products of their shared terms, largest first (they sum to the hit's score). */
function contributions(query: SparseVector, doc: SparseVector): NonNullable<ExplainedHit['contributions']> {
  const shared = intersection(query, doc);
  const weight = (v: SparseVector, i: number): number => {
    let lo = 0;
    let hi = v.indices.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v.indices[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    return v.values[lo]!;
  };
  return Array.from(shared.indices, (index, k) => ({ index, query: weight(query, index), document: weight(doc, index), contribution: shared.values[k]! })).sort((a, b) => b.contribution - a.contribution || a.index - b.index);
}
