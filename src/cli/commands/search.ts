import { SparseEncoderError } from '../../errors.js';
import type { CliIo } from '../main.js';

export async function run(_argv: string[], _io: CliIo): Promise<void> {
  throw new SparseEncoderError('ERR_USAGE', 'this command is not available yet');
}
