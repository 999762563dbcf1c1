// `npm run bench:near-me`: the cached "near me" handler at city density, the hot
// path. N pharmacies (BENCH_PHARMACIES, default 1 500) within the radius all offer one
// product; after one call fills the cache, 3 rounds of 200 cached calls are timed in
// process (no HTTP, no socket), each round's mean printed, with a bare JSON answer of
// the same size timed beside it as the baseline of the same run.
import { runBench, withLocalPlatform } from './local-platform';
import { demoProducts } from '../local/demo-products';
import { cnpjCheckDigits } from '../shared/pharmacies/domain/cnpj';
import { gtinCheckDigit } from '../shared/catalog/domain/gtin';

const PHARMACIES = Number(process.env.BENCH_PHARMACIES) || 1_500;
const CALLS = 200;
const DAY = 86_400_000;
const center = { lat: -23.5614, lon: -46.6559 };

function cnpj(index: number): string {
  const base = `${String(10_000_000 + index).padStart(8, '0')}0001`;
  return base + cnpjCheckDigits(base);
}

async function main() {
  await withLocalPlatform('near-me', {}, async ({ host, services, asAdmin }) => {
    const gtinBody = '789555000001';
    const product = await host.dispatch('POST', 'products', { ...demoProducts()[0], name: 'Bench', gtin: gtinBody + gtinCheckDigit(gtinBody) }, asAdmin);
    const productId = (product.body as { id: string }).id;
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + 10 * DAY).toISOString(), stock: 'in_stock' };
    const offers = [];
    for (let index = 0; index < PHARMACIES; index++) {
      // Spread over about 5 × 5 km around the point, every one within the 5 km radius.
      const location = { lat: center.lat + (((index * 37) % 100) / 100 - 0.5) * 0.05, lon: center.lon + (((index * 61) % 100) / 100 - 0.5) * 0.05 };
      const body = {
        cnpj: cnpj(index), tradeName: `Bench ${index}`, legalName: `Bench ${index} Ltda`, phone: '(11) 3456-7890',
        address: { street: 'Avenida Paulista', number: String(index + 1), district: 'Bela Vista', city: 'São Paulo', state: 'SP', postalCode: '01310-100' },
        location, openingHours: [{ day: 'mon', opens: '08:00', closes: '22:00' }], services: [],
      };
      const pharmacy = await host.dispatch('POST', 'pharmacies', body, asAdmin);
      offers.push({ pharmacyId: (pharmacy.body as { id: string }).id, productId, priceCents: 1_000 + index, ...validity });
    }
    for (let start = 0; start < offers.length; start += 500) await host.dispatch('POST', 'offers/batch', { items: offers.slice(start, start + 500) }, asAdmin);
    await services.bus.idle?.();

    const path = `products/${productId}/offers?lat=${center.lat}&lon=${center.lon}&radiusKm=5&limit=20`;
    const first = await host.dispatch('GET', path);
    const answer = JSON.stringify(first.body);
    console.log(`${PHARMACIES} pharmacies in reach; the answer has ${(first.body as { items: unknown[] }).items.length} items, ${answer.length} bytes`);
    for (let round = 1; round <= 3; round++) {
      let started = performance.now();
      for (let call = 0; call < CALLS; call++) await host.dispatch('GET', path);
      const handler = ((performance.now() - started) / CALLS) * 1000;
      started = performance.now();
      for (let call = 0; call < CALLS; call++) JSON.parse(JSON.stringify(first.body));
      const baseline = ((performance.now() - started) / CALLS) * 1000;
      console.log(`round ${round}: cached "near me" ${handler.toFixed(0)} µs per call; the bare answer (serialise + parse) ${baseline.toFixed(0)} µs`);
    }
  });
}

runBench(main);
