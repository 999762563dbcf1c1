import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** Files SQLite keeps beside a database, which hold its pages too. */
const COMPANIONS = ['-wal', '-shm', '-journal'];

/**
 * Prepares a database file only its owner can read, like `secrets.json`: the folder 0700
 * (made so, or tightened when it is ours), the file made 0600 before SQLite opens it (SQLite
 * gives its WAL, shared-memory and journal files the database file's permissions), and an
 * existing file and its companions from an older version tightened to 0600.
 */
export function preparePrivateDatabaseFile(file: string): void {
  if (file === ':memory:') return;
  const folder = dirname(file);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  if (!sharedByIntent(folder)) tighten(folder, 0o700);
  closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, ...COMPANIONS.map((suffix) => file + suffix)]) {
    if (existsSync(path)) tighten(path, 0o600);
  }
}

/**
 * A folder others are meant to write in: sticky (/tmp, /var/tmp) or writable by all. A database
 * file put straight in one keeps the folder as it is (tightened, /tmp would lock every other
 * user and service out of it, and as root the chmod succeeds); the files are 0600 all the same.
 */
function sharedByIntent(folder: string): boolean {
  const { mode } = statSync(folder);
  return (mode & 0o1000) !== 0 || (mode & 0o002) !== 0;
}

/** chmod, except where the process does not own the path (a shared folder given as DATA_DIR). */
export function tighten(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  }
}
