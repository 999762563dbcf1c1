// `npm run bench:near-me`: the cached "near me" handler at city density, the hot
// path. N pharmacies (BENCH_PHARMACIES, default 1 500) within the radius all offer one
// product; after one call fills the cache, 3 rounds of 200 cached calls (BENCH_CALLS: more
// reach V8's steady state, which 200 calls on a loaded machine may not) are timed in
// process (no HTTP, no socket), each round's mean printed, with a bare JSON answer of
// the same size timed beside it as the baseline of the same run. Each figure is wall time
// and the process's CPU time per call (less noisy on a shared machine); the route's
// handler is also timed alone, without the local host's dispatch around it (building the
// request and invocation context, parsing the answer back), which is the host's cost.
import { HttpRequest, InvocationContext } from '@azure/functions';
import { runBench, withLocalPlatform } from './local-platform';
import { demoProducts } from '../local/demo-products';
import { appModules } from '../shared/platform/app';
import { cnpjCheckDigits } from '../shared/pharmacies/domain/cnpj';
import { gtinCheckDigit } from '../shared/catalog/domain/gtin';

const PHARMACIES = Number(process.env.BENCH_PHARMACIES) || 1_500;
const CALLS = Number(process.env.BENCH_CALLS) || 200;
const DAY = 86_400_000;
const center = { lat: -23.5614, lon: -46.6559 };

function cnpj(index: number): string {
  const base = `${String(10_000_000 + index).padStart(8, '0')}0001`;
  return base + cnpjCheckDigits(base);
}

/** Mean wall and CPU microseconds per call of `call`, run CALLS times one after the other. */
async function timed(call: () => unknown): Promise<string> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let index = 0; index < CALLS; index++) await call();
  const wall = ((performance.now() - started) / CALLS) * 1000;
  const { user, system } = process.cpuUsage(cpu);
  return `${wall.toFixed(0)} µs (CPU ${((user + system) / CALLS).toFixed(0)} µs)`;
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
    const route = appModules(async () => services)
      .flatMap((module) => module.routes)
      .find((declaration) => declaration.name === 'productOffersNear')!;
    const handlerAlone = async () => {
      const request = new HttpRequest({ method: 'GET', url: `http://localhost/api/${path}`, params: { id: productId } });
      const response = await route.handler(request, new InvocationContext({ functionName: route.name }));
      if (response.status !== 200) throw new Error(`the handler answered ${response.status}`);
    };
    for (let round = 1; round <= 3; round++) {
      const dispatched = await timed(() => host.dispatch('GET', path));
      const alone = await timed(handlerAlone);
      const baseline = await timed(() => JSON.parse(JSON.stringify(first.body)));
      console.log(`round ${round}: cached "near me" ${dispatched} per call; the handler alone ${alone}; the bare answer (serialise + parse) ${baseline}`);
    }
  });
}

runBench(main);
