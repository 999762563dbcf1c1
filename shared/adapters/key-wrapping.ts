import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** Seals a data key with the master key (AES-256-GCM): iv, tag and ciphertext, base64. */
export function wrapKey(masterKey: Buffer, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  const sealed = Buffer.concat([cipher.update(key), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

export function unwrapKey(masterKey: Buffer, wrapped: string): Buffer {
  const bytes = Buffer.from(wrapped, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(12, 28));
  return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
}

export function newDataKey(): Buffer {
  return randomBytes(32);
}
