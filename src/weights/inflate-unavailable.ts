/**
 * `#inflate` where there is no zlib (browsers, workers): deflated PyTorch zip entries are refused.
 * torch.save stores entries uncompressed, so published `pytorch_model.bin` files still load.
 */
import { SparseEncoderError } from '../errors.js';

export function inflateRaw(_data: Uint8Array, _maxOutputLength: number): Uint8Array {
  throw new SparseEncoderError('ERR_NOT_SUPPORTED', 'a deflate-compressed pytorch_model.bin entry needs Node (torch.save writes them uncompressed; re-save as safetensors)');
}
