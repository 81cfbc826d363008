import { createHash } from 'node:crypto';
import { SparseEncoderError } from '../errors.js';

/** RFC 4122 (appendix C) name space for URLs; Python's `uuid.NAMESPACE_URL`. */
export const UUID_NAMESPACE_URL = '6ba7b811-9dad-11d1-80b4-00c04fd430c8';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/**
 * A name-based UUID, version 5 (RFC 4122 §4.3): SHA-1 of the name space's 16 bytes followed by the
 * UTF-8 name, first 16 bytes, version nibble 5, variant bits 10. Same result as Python's
 * `uuid.uuid5(namespace, name)`.
 */
export function uuidV5(name: string, namespace: string = UUID_NAMESPACE_URL): string {
  if (typeof namespace !== 'string' || !isUuid(namespace)) {
    throw new SparseEncoderError('ERR_INVALID_ARGUMENT', `UUID name space must be a hyphenated UUID, got ${JSON.stringify(namespace)}`);
  }
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
