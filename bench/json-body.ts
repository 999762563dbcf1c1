// `npm run bench:json-body`: what reading a request's JSON costs beyond JSON.parse. Every
// command body goes through parseStrictJson, which also refuses a `__proto__` member and a
// member an object repeats (shared/kernel/json-members.ts). Four bodies, each timed with
// JSON.parse and with parseStrictJson in turns within one run (BENCH_ROUNDS, default 3): a
// command's (~250 bytes), a 500-item partner feed's (~120 KB), a text made of short strings
// (the colon count's worst case: a quote to skip every few characters) and the feed with one
// \u escape (the __proto__ check's worst case: the reviver over the whole body).
import { parseStrictJson } from '../shared/kernel/http';

const ROUNDS = Number(process.env.BENCH_ROUNDS) || 3;

const offer = {
  pharmacyId: '3f1c2a54-7d1e-4b7a-9c2d-1a2b3c4d5e6f',
  productId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  priceCents: 1299,
  listPriceCents: 1599,
  validFrom: '2026-12-01T00:00:00.000Z',
  validUntil: '2026-12-31T23:59:59.000Z',
  stock: 'in_stock',
};
const bodies: [string, string, number][] = [
  ['a command', JSON.stringify(offer), 200_000],
  ['a 500-item feed', JSON.stringify({ items: Array.from({ length: 500 }, () => offer) }), 300],
  ['short strings', JSON.stringify({ tags: Array.from({ length: 20_000 }, (_, n) => `t${n % 10}`) }), 300],
  // One \u escape (as an ASCII-only encoder writes any accent) or the letters "proto" anywhere
  // send the whole body through JSON.parse's reviver, the __proto__ check's slow path.
  ['a 500-item feed, one \\u escape', JSON.stringify({ items: Array.from({ length: 500 }, () => offer) }).replace('in_stock', 'in_st\\u006fck'), 300],
];

/** Mean µs per call over `times` calls, after a tenth as many to warm up. */
function timed(parse: (text: string) => unknown, text: string, times: number): number {
  for (let n = 0; n < times / 10; n++) parse(text);
  const started = process.hrtime.bigint();
  for (let n = 0; n < times; n++) parse(text);
  return Number(process.hrtime.bigint() - started) / times / 1_000;
}

const rows = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const [body, text, times] of bodies) {
    const plain = timed(JSON.parse, text, times);
    const strict = timed(parseStrictJson, text, times);
    rows.push({ round, body, bytes: text.length, 'JSON.parse µs': plain.toFixed(2), 'parseStrictJson µs': strict.toFixed(2), 'more µs': (strict - plain).toFixed(2), ratio: (strict / plain).toFixed(2) });
  }
}
console.table(rows);
