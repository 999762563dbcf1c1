/**
 * Passwords of at least 10 characters that are not among the most common ones (lists of
 * leaked passwords, Portuguese included). Compared lower-cased: "Password123" is as weak.
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

/** Why a password is refused, or undefined when it is acceptable. */
export function passwordWeakness(password: string): string | undefined {
  if ([...password].length < MIN_PASSWORD_LENGTH) return `use at least ${MIN_PASSWORD_LENGTH} characters`;
  if (COMMON.has(password.toLowerCase())) return 'this password is among the most common ones; choose another';
  if (/^(.)\1+$/.test(password)) return 'use more than one repeated character';
  return undefined;
}
