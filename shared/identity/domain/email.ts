/**
 * One address, one account. An e-mail may be typed in several Unicode forms that look the
 * same: composed or decomposed accents (NFC/NFD), full-width or other compatibility
 * characters (`ｍaria`, `ﬁ`), invisible ones (zero-width space and joiners, soft hyphen,
 * byte-order mark). Addresses are kept in NFC, lower-cased; anything that would read as
 * another address once shown or normalised is refused rather than quietly folded.
 */

/** Invisible and formatting characters (Unicode category Cf), controls and unpaired surrogates. */
const INVISIBLE = /[\p{Cf}\p{Cc}\p{Cs}\p{Zl}\p{Zp}]/u;

/** The form an address is stored, compared and indexed in: NFC, lower case, no surrounding space. */
export function canonicalEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase().normalize('NFC');
}

/** Why an address is refused, or undefined when it is acceptable. */
export function emailProblem(email: string): string | undefined {
  if (INVISIBLE.test(email) || /\s/u.test(email)) return 'email must not contain invisible, formatting or space characters';
  const composed = email.normalize('NFC');
  if (composed.normalize('NFKC') !== composed) return 'email must not use full-width or other compatibility characters; type it in its plain form';
  return undefined;
}
