import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * Random hex for trace and span ids, cut from a pool refilled 4 KB at a time: a
 * synchronous `randomBytes` per id (three per request) capped the local host's reads, a
 * cost the Functions host does not have. Ids, not secrets: never use this for keys or tokens.
 */
export function traceRandomHex(bytes: number): string {
  if (offset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  return hex;
}
