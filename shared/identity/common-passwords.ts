/**
 * The breached-password list shipped with the code: the 49 000 most common passwords of
 * public breaches as compiled by zxcvbn-ts (`@zxcvbn-ts/language-common`, MIT), compressed
 * in the package (about 250 KB) and expanded into a set on the first registration, not at
 * start-up. The domain's own short Portuguese list adds what an English list lacks.
 */
let list: Set<string> | undefined;

function breachedPasswords(): Set<string> {
  if (!list) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use: a cold start does not pay for it
    const { dictionary } = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common');
    list = new Set(dictionary['passwords-common'].map((password) => password.toLowerCase()));
  }
  return list;
}

/** Whether a (lower-cased) candidate is on the breached-password list. */
export function isBreachedPassword(candidate: string): boolean {
  return breachedPasswords().has(candidate.toLowerCase());
}
