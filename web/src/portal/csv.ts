import { parseReais } from '../format';
import { BRASILIA, instantIn } from '../zoned';

/** The price list's columns, as the portal documents them (docs/web.md). */
export const COLUMNS = ['gtin', 'preco', 'preco_tabela', 'estoque', 'validade'] as const;
export const MAX_ROWS = 20_000;
export const MAX_BYTES = 2_000_000;

const STOCK: Record<string, string> = {
  em_estoque: 'in_stock',
  in_stock: 'in_stock',
  baixo: 'low',
  low: 'low',
  sem_estoque: 'out_of_stock',
  out_of_stock: 'out_of_stock',
};

export interface PriceRow {
  /** The line its record starts on, as a spreadsheet numbers them (1 is the header). */
  line: number;
  gtin: string;
  /** What the row asks for, or why it cannot be sent. */
  terms?: { priceCents: number; listPriceCents?: number; stock: string; validUntil: string };
  refusal?: string;
}

/** One record of the file: its cells, and the line it starts on as a spreadsheet numbers them (1 is the header). */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/**
 * The file's records (RFC 4180, read leniently): cells split on `separator`; a quoted cell may
 * hold the separator, a doubled quote (`"a ""quoted"" word"`) and line breaks, so one record
 * may span several lines. CRLF, LF and a lone CR (old Mac exports) all end a line. A quote
 * never closed is an error naming the line it opens on: read on, it would swallow the rest
 * of the file into one cell.
 */
export function csvRecords(text: string, separator: string): CsvRecord[] | { error: string } {
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let quoteLine = 0;
  const endCell = () => {
    cells.push(cell.trim());
    cell = '';
  };
  const endRecord = () => {
    endCell();
    records.push({ line: recordLine, cells });
    cells = [];
  };
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    const lineBreak = char === '\n' || (char === '\r' && text[i + 1] !== '\n');
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') {
      quoted = true;
      quoteLine = line;
    } else if (char === separator) endCell();
    else if (lineBreak) endRecord();
    else if (char !== '\r') cell += char;
    if (lineBreak) {
      line++;
      if (!quoted) recordLine = line;
    }
  }
  if (quoted) return { error: `Aspas abertas na linha ${quoteLine} não foram fechadas.` };
  if (cell !== '' || cells.length > 0) endRecord();
  return records;
}

/** "2026-12-31" or "31/12/2026", the end of that day in the pharmacy's time zone; undefined for anything else or a past day. */
function validUntil(text: string, now: Date, timeZone: string): string | undefined {
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const brazilian = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(text);
  const [year, month, day] = iso ? [iso[1], iso[2], iso[3]] : brazilian ? [brazilian[3], brazilian[2], brazilian[1]] : [];
  if (!year) return undefined;
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (calendar.getUTCMonth() !== Number(month) - 1 || calendar.getUTCDate() !== Number(day)) return undefined;
  const end = new Date(instantIn(timeZone, `${year}-${month}-${day}`, '23:59:59'));
  return end > now ? end.toISOString() : undefined;
}

/**
 * The file's text: UTF-8 as documented, or UTF-16 (a spreadsheet's "Unicode" CSV) when it
 * starts with that byte-order mark. Read as UTF-8, such a file has a NUL between every two
 * letters, and its header "gtin;preco" was refused as naming neither column.
 */
export function priceListText(bytes: Uint8Array): string {
  const encoding = bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : 'utf-8';
  return new TextDecoder(encoding).decode(bytes);
}

export type Parsed = { rows: PriceRow[] } | { error: string };

/** The file's rows, each with its terms or its refusal; a file that is not a price list at all, said why. */
export function parsePriceList(text: string, now = new Date(), timeZone = BRASILIA): Parsed {
  const content = text.replace(/^\uFEFF/, '');
  // The separator is the header's: the first line names the columns, and no column name needs quotes.
  const separator = /^[^\r\n]*;/.test(content) ? ';' : ',';
  const records = csvRecords(content, separator);
  if ('error' in records) return records;
  const names = (records[0]?.cells ?? []).map((name) => name.toLowerCase());
  const missing = ['gtin', 'preco'].filter((name) => !names.includes(name));
  if (missing.length) return { error: `A primeira linha deve nomear as colunas; faltam: ${missing.join(', ')}.` };
  const unknown = names.filter((name) => !(COLUMNS as readonly string[]).includes(name));
  if (unknown.length) return { error: `Colunas desconhecidas: ${unknown.join(', ')}. As colunas são: ${COLUMNS.join(', ')}.` };
  const rows: PriceRow[] = [];
  for (const { line, cells } of records.slice(1)) {
    if (cells.every((cell) => cell === '')) continue;
    if (rows.length >= MAX_ROWS) return { error: `No máximo ${MAX_ROWS} linhas por arquivo.` };
    // Empty trailing cells (a separator at the end of the line) are harmless.
    if (cells.slice(names.length).some((cell) => cell !== '')) {
      // Most often "12,90" unquoted in a comma-separated file: read as 12 reais and a stray 90, it would be sent.
      rows.push({ line, gtin: cells[names.indexOf('gtin')] ?? '', refusal: `${cells.length} colunas para ${names.length} no cabeçalho (decimal com vírgula sem aspas?)` });
      continue;
    }
    const value = (name: string) => cells[names.indexOf(name)] ?? '';
    rows.push(parseRow(line, value, now, timeZone));
  }
  return rows.length ? { rows } : { error: 'O arquivo não tem nenhuma linha de preço.' };
}

function parseRow(line: number, value: (name: string) => string, now: Date, timeZone: string): PriceRow {
  const gtin = value('gtin');
  const refuse = (refusal: string): PriceRow => ({ line, gtin, refusal });
  if (!/^(\d{8}|\d{12,14})$/.test(gtin)) return refuse('GTIN inválido: 8, 12, 13 ou 14 dígitos');
  const priceCents = parseReais(value('preco'));
  if (priceCents === undefined || priceCents <= 0) return refuse(`preço inválido: "${value('preco')}"`);
  const listText = value('preco_tabela');
  const listPriceCents = listText ? parseReais(listText) : undefined;
  if (listText && (listPriceCents === undefined || listPriceCents <= 0)) return refuse(`preço de tabela inválido: "${listText}"`);
  const stock = STOCK[(value('estoque') || 'em_estoque').toLowerCase()];
  if (!stock) return refuse(`estoque inválido: "${value('estoque')}" (em_estoque, baixo ou sem_estoque)`);
  const untilText = value('validade');
  const until = untilText ? validUntil(untilText, now, timeZone) : new Date(now.getTime() + 30 * 86_400_000).toISOString();
  if (!until) return refuse(`validade inválida ou passada: "${untilText}" (AAAA-MM-DD ou DD/MM/AAAA)`);
  return { line, gtin, terms: { priceCents, ...(listPriceCents === undefined ? {} : { listPriceCents }), stock, validUntil: until } };
}

/**
 * A report cell that a spreadsheet takes as text: quoted when needed, and never as a formula.
 * Spreadsheets also start a formula after a leading tab or carriage return (OWASP's list), so
 * those get the apostrophe too.
 */
export function csvCell(value: string | number): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[;"\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
