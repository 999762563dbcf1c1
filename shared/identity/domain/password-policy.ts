/**
 * Passwords of at least 10 characters that are not among the most common ones (lists of
 * leaked passwords, Portuguese included). Compared lower-cased: "Password123" is as weak.
 * This short list is the domain's own; the identity module adds the breached-password
 * list shipped with the code (see PasswordContext.breached).
 */
const COMMON = new Set([
  '1234567890', '12345678910', '0123456789', '0987654321', '1111111111', '1234512345', '1q2w3e4r5t',
  '1qaz2wsx3edc', 'qwertyuiop', 'qwerty12345', 'qwerty123456', 'asdfghjkl1', 'zxcvbnm123', 'password12',
  'password123', 'password1234', 'passw0rd123', 'iloveyou123', 'abc1234567', 'abcdefghij', 'aaaaaaaaaa',
  'senha12345', 'senha123456', 'senhasenha', 'minhasenha', 'minhasenha1', 'mudar12345', 'mudar123456',
  'brasil1234', 'brasil12345', 'flamengo123', 'corinthians', 'corinthians1', 'palmeiras1', 'palmeiras123',
  'saopaulo123', 'gremio1234', 'vasco12345', 'fluminense1', 'cruzeiro123', 'santos1234', 'botafogo123',
  'internacional', 'farmacia123', 'farmacia1234', 'drogaria123', 'welcome123', 'letmein123', 'admin12345',
  'administrator', 'changeme123', 'trustno1234', 'football123', 'baseball123', 'superman123', 'princess123',
  'sunshine123', 'starwars123', 'dragon12345', 'monkey12345', 'master12345', 'shadow12345', 'michael123',
  'jennifer123', 'whatever123', 'qwertyuiop1', 'asdfghjkl12', 'zaq12wsxcde', 'q1w2e3r4t5', 'a1b2c3d4e5',
  '123qweasdzxc', '123456789a', 'a123456789', '123456789q', 'q123456789', '12345qwert', 'qwert12345',
]);

export const MIN_PASSWORD_LENGTH = 10;

/** What the rule may know besides the password: the account's e-mail, a list of breached passwords. */
export interface PasswordContext {
  email?: string;
  /** Whether a lower-cased candidate is on a list of breached passwords (the identity module ships one). */
  breached?: (candidate: string) => boolean;
}

const LEET: Record<string, string> = { '@': 'a', '4': 'a', '8': 'b', '3': 'e', '6': 'g', '1': 'i', '!': 'i', '0': 'o', $: 's', '5': 's', '7': 't', '2': 'z' };

/**
 * The forms of a password a list is checked with: as typed (lower case), without the
 * digits and symbols padded around it (`password!!`, `2024dragon`, `senha123`), and each
 * with the usual letter-for-digit swaps undone (`p@ssw0rd`), and a repeated word once.
 */
function candidatesOf(password: string): string[] {
  const lower = password.normalize('NFC').toLowerCase();
  const unleet = (value: string) => value.replace(/[@48361!0$572]/g, (c) => LEET[c]);
  // Padding longer than the word itself is not trivial (`dragon8372946153`): only the whole is checked then.
  const padded = (value: string) => {
    const stripped = value.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
    return stripped.length * 2 >= value.length ? [value, stripped] : [value];
  };
  // A word said twice or more (`trustno1trustno1`) is that word.
  const unit = /^(.+?)\1+$/u.exec(lower)?.[1];
  const forms = unit ? [lower, unit] : [lower];
  return [...new Set(forms.flatMap((form) => [...padded(form), ...padded(unleet(form))]))].filter(Boolean);
}

/** A run of one step (`12345678901`, `abcdefghij`, `9876543210`), digits wrapping round. */
function isSequence(password: string): boolean {
  const codes = [...password.toLowerCase()].map((c) => c.codePointAt(0)!);
  const step = (a: number, b: number) => (/\d/.test(String.fromCodePoint(a)) && /\d/.test(String.fromCodePoint(b)) ? (b - a + 10) % 10 : b - a);
  const first = step(codes[0], codes[1]);
  return [1, 9, -1, 0].includes(first) && codes.slice(1).every((code, index) => step(codes[index], code) === first);
}

/** Why a password is refused, or undefined when it is acceptable. */
export function passwordWeakness(password: string, context: PasswordContext = {}): string | undefined {
  // An unpaired surrogate has no UTF-8 form: hashed, it would become U+FFFD and match other passwords.
  if (/\p{Cs}/u.test(password) || password.includes('\u0000')) return 'the password must not contain NUL or unpaired surrogates';
  if ([...password].length < MIN_PASSWORD_LENGTH) return `use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (/^(.)\1+$/.test(password)) return 'use more than one repeated character';
  const candidates = candidatesOf(password);
  if (candidates.some((candidate) => COMMON.has(candidate) || context.breached?.(candidate))) {
    return 'this password is among the most common ones; choose another';
  }
  if (isSequence(password) || new Set(password.toLowerCase()).size < 4 || /^(.{1,5})\1+$/.test(password.toLowerCase())) {
    return 'this password is a sequence or a repetition; choose another';
  }
  if (context.email) {
    // The address or its local part, give or take case, dots, digits and symbols: `Maria.Silva2024` for maria.silva@….
    const letters = (value: string) => value.normalize('NFC').toLowerCase().replace(/[^\p{L}]/gu, '');
    const email = context.email.normalize('NFC').toLowerCase();
    const mine = letters(password);
    if (candidates.includes(email) || mine === letters(email) || mine === letters(email.split('@')[0])) {
      return 'the password must not be the e-mail address';
    }
  }
  return undefined;
}
