import { SparseEncoderError } from '../errors.js';

/**
 * What both worker pools do when a request's client goes away: a job still queued is dropped
 * (and rejected with ERR_CANCELLED); a running one is handed to `cancelRunning`, which asks its
 * worker to stop at the next slice.
 */
export function dropOrCancelOnAbort<J>(signal: AbortSignal | undefined, queue: J[], job: J, reject: (e: SparseEncoderError) => void, cancelRunning: () => void): void {
  signal?.addEventListener(
    'abort',
    () => {
      const at = queue.indexOf(job);
      if (at >= 0) {
        queue.splice(at, 1);
        reject(new SparseEncoderError('ERR_CANCELLED', 'request aborted by the client'));
        return;
      }
      cancelRunning();
    },
    { once: true },
  );
}
