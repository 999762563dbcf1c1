import { bodyOf } from './api';
import { sendSignedIn } from './session';

export interface Written {
  id: string;
  version: number;
}

/** A command as the signed-in person; `ifMatch` names the version the change was made on (412 when another got there first). */
export async function command(method: 'POST' | 'PATCH' | 'PUT', path: string, body?: unknown, ifMatch?: number): Promise<Written> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (ifMatch !== undefined) headers['if-match'] = `"${ifMatch}"`;
  return bodyOf<Written>(await sendSignedIn(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
}

/** A read that waits for the read model to hold at least `version` (the API's read-your-writes). */
export async function readAtLeast<T>(path: string, version?: number): Promise<T> {
  return bodyOf<T>(await sendSignedIn(path, { headers: version ? { 'x-min-version': String(version) } : {} }));
}
