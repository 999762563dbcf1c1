import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { webModule } from '../support/web-module';

// Typed here, not imported: tsc would otherwise compile web/src into dist/web, the built app's folder.
type Parsed = { rows: { line: number; gtin: string; terms?: { priceCents: number; listPriceCents?: number; validUntil: string }; refusal?: string }[] } | { error: string };
const { parsePriceList, priceListText, csvCell } = webModule<{
  parsePriceList(text: string, now?: Date, timeZone?: string): Parsed;
  priceListText(bytes: Uint8Array): string;
  csvCell(value: string | number): string;
}>('portal/csv.ts');
const NOW = new Date('2026-11-30T12:00:00Z');

describe('the portal reads a price list (review)', () => {
  it("given a pharmacy in Manaus, when a line says 31/12/2030, then the offer runs to the end of that day in Manaus, not in Brasília", () => {
    const manaus = parsePriceList('gtin;preco;validade\n7891234567895;12,90;31/12/2030', NOW, 'America/Manaus');
    const brasilia = parsePriceList('gtin;preco;validade\n7891234567895;12,90;31/12/2030', NOW);
    assert.ok('rows' in manaus && 'rows' in brasilia);
    assert.equal(manaus.rows[0].terms?.validUntil, '2031-01-01T03:59:59.000Z');
    assert.equal(brasilia.rows[0].terms?.validUntil, '2031-01-01T02:59:59.000Z');
  });

  it('given a comma-separated list with an unquoted decimal comma, when read, then the line is refused, not priced at the whole reais', () => {
    // docs/web.md asks for "12,90" quoted when the separator is a comma; unquoted it is 3 cells for 2 columns.
    const parsed = parsePriceList('gtin,preco\n7891234567895,12,90', NOW);
    assert.ok('rows' in parsed);
    assert.equal(parsed.rows[0].terms, undefined, `priced at ${parsed.rows[0].terms?.priceCents} cents`);
    assert.ok(parsed.rows[0].refusal);
  });

  it('given the same with a list price column, when read, then the line is refused, not 12,00 with a list price of 90,00', () => {
    const parsed = parsePriceList('gtin,preco,preco_tabela\n7891234567895,12,90,15,00', NOW);
    assert.ok('rows' in parsed);
    assert.equal(parsed.rows[0].terms, undefined, JSON.stringify(parsed.rows[0].terms));
  });

  it('given a quoted decimal and CRLF and a BOM, when read, then the price is exact', () => {
    const parsed = parsePriceList('\uFEFFgtin,preco\r\n7891234567895,"12,90"\r\n', NOW);
    assert.ok('rows' in parsed);
    assert.equal(parsed.rows[0].terms?.priceCents, 1290);
  });

  it('given a quoted cell holding a newline, when read, then it is one record, and the next records keep the line numbers the spreadsheet shows', () => {
    const text = 'gtin;preco;estoque\n"7891234567895";"12,90";"em_\nestoque"\n7891234567896;13,90;baixo\n';
    const parsed = parsePriceList(text, NOW);
    assert.ok('rows' in parsed, JSON.stringify(parsed));
    assert.deepEqual(
      parsed.rows.map((row) => [row.line, row.gtin, row.terms?.priceCents ?? row.refusal]),
      [
        [2, '7891234567895', 'estoque inválido: "em_\nestoque" (em_estoque, baixo ou sem_estoque)'],
        [4, '7891234567896', 1390],
      ],
    );
  });

  it('given doubled quotes, CRLF inside and between records and a blank line, when read, then cells and line numbers are exact', () => {
    const text = 'gtin,preco,preco_tabela\r\n7891234567895,"12,90","1""5\r\n"\r\n\r\n7891234567896,"13,90",\r\n';
    const parsed = parsePriceList(text, NOW);
    assert.ok('rows' in parsed, JSON.stringify(parsed));
    assert.deepEqual(
      parsed.rows.map((row) => [row.line, row.gtin, row.terms?.priceCents ?? row.refusal]),
      [
        [2, '7891234567895', 'preço de tabela inválido: "1"5"'],
        [5, '7891234567896', 1390],
      ],
    );
  });

  it('given a quote that is never closed, when read, then the file is refused naming the line it opens on, not read as one long cell', () => {
    const parsed = parsePriceList('gtin;preco\n7891234567895;12,90\n7891234567896;"13,90\n7891234567897;14,90\n', NOW);
    assert.ok('error' in parsed);
    assert.match(parsed.error, /linha 3/);
  });
});

describe('the portal reads the bytes of a price list as text (review)', () => {
  const LIST = 'gtin;preco;estoque\r\n7891234567895;"12,90";em_estoque\r\n';
  const priceOf = (bytes: Uint8Array) => {
    const parsed = parsePriceList(priceListText(bytes), NOW);
    assert.ok(!('error' in parsed), JSON.stringify(parsed));
    return parsed.rows.map((row) => [row.gtin, row.terms?.priceCents]);
  };
  const utf16 = (text: string, order: 'le' | 'be') => {
    const bytes = Buffer.from(`\uFEFF${text}`, 'utf16le');
    return new Uint8Array(order === 'le' ? bytes : bytes.swap16());
  };

  it('given a list saved as UTF-16 (little or big endian, with its byte-order mark), when read, then its lines are priced, not its header refused', () => {
    assert.deepEqual(priceOf(utf16(LIST, 'le')), [['7891234567895', 1290]]);
    assert.deepEqual(priceOf(utf16(LIST, 'be')), [['7891234567895', 1290]]);
  });

  it('given UTF-8, with or without its byte-order mark, when read, then it reads as before', () => {
    assert.deepEqual(priceOf(new Uint8Array(Buffer.from(LIST))), [['7891234567895', 1290]]);
    assert.deepEqual(priceOf(new Uint8Array(Buffer.from(`\uFEFF${LIST}`))), [['7891234567895', 1290]]);
  });
});

describe("the portal's report cells (attack)", () => {
  it('given cells a spreadsheet would start a formula with, when written, then each is text: an apostrophe first, quoted where it holds a separator or line break', () => {
    assert.equal(csvCell('=HYPERLINK("http://x")'), '"\'=HYPERLINK(""http://x"")"');
    assert.equal(csvCell('+1'), "'+1");
    assert.equal(csvCell('-1'), "'-1");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('\t=1+1'), "'\t=1+1");
    assert.equal(csvCell('\r=1+1'), '"\'\r=1+1"');
  });

  it('given ordinary cells, when written, then they are as they were, quoted only for a separator, a quote or a line break', () => {
    assert.equal(csvCell(12), '12');
    assert.equal(csvCell('7891234567895'), '7891234567895');
    assert.equal(csvCell('preço; inválido'), '"preço; inválido"');
    assert.equal(csvCell('diz "não"'), '"diz ""não"""');
  });
});
