/** CPF, the individual taxpayer number: eleven digits, the last two mod-11 check digits. */
export function isValidCpf(input: string): boolean {
  if (!/^\d{3}\.?\d{3}\.?\d{3}-?\d{2}$/.test(input)) return false;
  const digits = input.replace(/\D/g, '');
  if (/^(\d)\1{10}$/.test(digits)) return false;
  const check = (length: number) => {
    let sum = 0;
    for (let i = 0; i < length; i++) sum += Number(digits[i]) * (length + 1 - i);
    const remainder = (sum * 10) % 11;
    return remainder === 10 ? 0 : remainder;
  };
  return check(9) === Number(digits[9]) && check(10) === Number(digits[10]);
}

export function normaliseCpf(input: string): string {
  return input.replace(/\D/g, '');
}
