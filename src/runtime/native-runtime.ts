/**
 * `#native-runtime` under the `node` condition: what only Node has for the runtime: onnxruntime-node
 * itself (imported on first use), the CPU count, and a temporary folder for a large model's
 * external data (onnxruntime maps the weights from the file instead of copying a serialized model).
 */
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

export function loadNativeOrt(): Promise<unknown> {
  return import('onnxruntime-node');
}

export function cpuCount(): number {
  return availableParallelism();
}

/**
 * Writes `model.onnx` and its external data file into a new temporary folder under `base`
 * (default: the OS's); returns the model's path and a cleanup that removes the folder.
 */
export async function writeTempModel(model: Uint8Array, dataFile: string, data: Iterable<Uint8Array>, base?: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(base ?? tmpdir(), 'sparse-encoder-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true }).catch(() => undefined);
  try {
    await writeFile(join(dir, 'model.onnx'), model);
    const fh = await open(join(dir, dataFile), 'w');
    try {
      for (const chunk of data) await fh.write(chunk);
    } finally {
      await fh.close();
    }
    return { path: join(dir, 'model.onnx'), cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** The backend a model loads on when none is asked for: onnxruntime-node, here. */
export const DEFAULT_BACKEND = 'native' as const;
