// `npm run bench:scale`: the platform on a national-shaped data set, in process (embedded
// profile: SQLite, the local Cosmos DB server, the memory cache). Reports, in one run:
// - per hot query, the read-store requests one cold call makes and whether each stays in
//   one partition (a point read, or a query that names its partition) or fans out;
// - the "near me" cache hit ratio while a partner feed writes at a steady rate, beside
//   the same reads with no feed;
// - the sustained partner-feed rate with its projections counted, commands per second,
//   and the process's resident memory.
// Sizes: BENCH_PHARMACIES (1 000), BENCH_PRODUCTS (300), BENCH_OFFERS_PER_PHARMACY (10),
// BENCH_SECONDS (10, each timed phase). Loopback only; every loop is bounded. The local
// Cosmos DB server scans a whole container for every query, so store-bound figures here
// (misses, projections) are the local server's, not Cosmos DB's: the shapes (requests and
// partitions per query) and the cache's behaviour are what carry over.
import { runBench, withLocalPlatform } from './local-platform';
import type { LocalHost } from '../local/host';
import type { Services } from '../shared/kernel/services';
import { demoProducts } from '../local/demo-products';
import { gtinCheckDigit } from '../shared/catalog/domain/gtin';
import { cnpjCheckDigits } from '../shared/pharmacies/domain/cnpj';
import { countingReads } from '../test/support/counting-reads';

const PHARMACIES = Number(process.env.BENCH_PHARMACIES) || 1_000;
const PRODUCTS = Number(process.env.BENCH_PRODUCTS) || 300;
const OFFERS_PER_PHARMACY = Math.min(Number(process.env.BENCH_OFFERS_PER_PHARMACY) || 10, PRODUCTS);
const SECONDS = Number(process.env.BENCH_SECONDS) || 10;
/** Partner feeds nationally: 5 000 prices a second over 20 million offers, scaled to this country's offers. */
const NATIONAL_FEED_PER_SECOND = 5_000;
const NATIONAL_OFFERS = 20_000_000;
/** The same feed unscaled: every offer here changes thousands of times more often than in the country. */
const STRESS_FEED_PER_SECOND = 500;
const DAY = 86_400_000;

/** Metropolitan areas and their share of the pharmacies (roughly their share of people). */
const METROS = [
  { name: 'São Paulo', state: 'SP', lat: -23.5505, lon: -46.6333, share: 0.36 },
  { name: 'Rio de Janeiro', state: 'RJ', lat: -22.9068, lon: -43.1729, share: 0.22 },
  { name: 'Belo Horizonte', state: 'MG', lat: -19.9167, lon: -43.9345, share: 0.1 },
  { name: 'Brasília', state: 'DF', lat: -15.7939, lon: -47.8828, share: 0.08 },
  { name: 'Salvador', state: 'BA', lat: -12.9777, lon: -38.5016, share: 0.08 },
  { name: 'Recife', state: 'PE', lat: -8.0476, lon: -34.877, share: 0.08 },
  { name: 'Porto Alegre', state: 'RS', lat: -30.0346, lon: -51.2177, share: 0.08 },
];

/** A small deterministic generator, so two runs build the same country. */
let seed = 42;
const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
/** Product popularity: Zipf-like, a few products make most searches and offers. */
const popularProduct = (count: number) => Math.min(count - 1, Math.floor(count ** random()) - 1);
/** A point about `spreadKm` around a centre (denser near it). */
const around = (center: { lat: number; lon: number }, spreadKm: number) => {
  const distance = spreadKm * Math.sqrt(random()) * random();
  const angle = random() * 2 * Math.PI;
  return {
    lat: Number((center.lat + (distance / 111.32) * Math.cos(angle)).toFixed(5)),
    lon: Number((center.lon + (distance / (111.32 * Math.cos((center.lat * Math.PI) / 180))) * Math.sin(angle)).toFixed(5)),
  };
};

function cnpj(index: number): string {
  const base = `${String(20_000_000 + index).padStart(8, '0')}0001`;
  return base + cnpjCheckDigits(base);
}

function gtin(index: number): string {
  const body = `789${String(100_000_000 + index).padStart(9, '0')}`;
  return body + gtinCheckDigit(body);
}

interface World {
  products: string[];
  pharmacies: { id: string; metro: (typeof METROS)[number] }[];
  offers: { offerId: string; pharmacyId: string; productId: string }[];
}

async function seedCountry(host: LocalHost, asAdmin: Record<string, string>): Promise<World> {
  const template = demoProducts()[0];
  const products: string[] = [];
  for (let index = 0; index < PRODUCTS; index++) {
    const created = await host.dispatch('POST', 'products', { ...template, name: `Produto ${index}`, gtin: gtin(index) }, asAdmin);
    products.push((created.body as { id: string }).id);
  }
  const pharmacies: World['pharmacies'] = [];
  for (const metro of METROS) {
    const count = Math.round(PHARMACIES * metro.share);
    for (let n = 0; n < count; n++) {
      const index = pharmacies.length;
      const body = {
        cnpj: cnpj(index), tradeName: `Drogaria ${index}`, legalName: `Drogaria ${index} Ltda`, phone: '(11) 3456-7890',
        address: { street: 'Rua Principal', number: String(index + 1), district: 'Centro', city: metro.name, state: metro.state, postalCode: '01310-100' },
        location: around(metro, 25), timeZone: 'America/Sao_Paulo',
        openingHours: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => ({ day, opens: '00:00', closes: '24:00' })), services: [],
      };
      const created = await host.dispatch('POST', 'pharmacies', body, asAdmin);
      pharmacies.push({ id: (created.body as { id: string }).id, metro });
    }
  }
  const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + 30 * DAY).toISOString(), stock: 'in_stock' };
  const items = pharmacies.flatMap(({ id }) => {
    const chosen = new Set<number>();
    while (chosen.size < OFFERS_PER_PHARMACY) chosen.add(chosen.size < OFFERS_PER_PHARMACY / 2 ? popularProduct(PRODUCTS) : Math.floor(random() * PRODUCTS));
    return [...chosen].map((product) => ({ pharmacyId: id, productId: products[product], priceCents: 500 + Math.floor(random() * 2_000), ...validity }));
  });
  const offers: World['offers'] = [];
  for (let start = 0; start < items.length; start += 500) {
    const answer = await host.dispatch('POST', 'offers/batch', { items: items.slice(start, start + 500) }, asAdmin);
    for (const [index, result] of (answer.body as { results: { id?: string }[] }).results.entries()) {
      const item = items[start + index];
      if (result.id) offers.push({ offerId: result.id, pharmacyId: item.pharmacyId, productId: item.productId });
    }
  }
  return { products, pharmacies, offers };
}

type Recorder = ReturnType<typeof countingReads>;

/** One cold call of each hot query, with the read-store requests it made. */
async function queryShapes(host: LocalHost, recorder: Recorder, world: World, settle: () => Promise<void>) {
  const metro = METROS[0];
  const productId = world.products[1];
  const pharmacy = world.pharmacies[7].id;
  const offer = world.offers[world.offers.length - 3].offerId;
  const point = around(metro, 10);
  const shapes: [string, string][] = [
    ['near me (product, 5 km)', `products/${productId}/offers?lat=${point.lat}&lon=${point.lon}&radiusKm=5`],
    ["a pharmacy's offers", `pharmacies/${pharmacy}/offers`],
    ['offer by id', `offers/${offer}`],
    ['product by id', `products/${world.products[2]}`],
    ['pharmacy by id', `pharmacies/${world.pharmacies[8].id}`],
    ['pharmacies nearby (5 km)', `pharmacies/nearby?lat=${point.lat + 0.05}&lon=${point.lon}&radiusKm=5`],
    ['product search', 'products?q=produto%2012'],
    ['categories', 'categories'],
  ];
  console.log('\nquery                          store requests (cold)                       all single-partition');
  for (const [name, path] of shapes) {
    await settle();
    recorder.reset();
    const answer = await host.dispatch('GET', path);
    if (answer.status !== 200) throw new Error(`${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    const requests = Object.entries(recorder.counts).map(([key, count]) => `${count}× ${key}`).join(', ') || 'none (cached by an earlier one)';
    const single = Object.keys(recorder.counts).every((key) => !key.endsWith('.query') && !key.endsWith('.count'));
    console.log(`${name.padEnd(30)} ${requests.padEnd(44)} ${single ? 'yes' : 'no'}`);
  }
}

/** Where people search from, and what: a few neighbourhoods per metropolitan area, the most searched products. */
const SEARCHED_PRODUCTS = 10;
const NEIGHBOURHOODS = METROS.flatMap((metro) => Array.from({ length: 5 }, () => ({ metro, place: around(metro, 20) })));

async function nearMe(host: LocalHost, world: World, place: { lat: number; lon: number }, product: number) {
  // A person moves a little between searches (about 50 m); the cache keys by grid cell and radius, not by point.
  const point = { lat: (place.lat + (random() - 0.5) * 0.0005).toFixed(5), lon: (place.lon + (random() - 0.5) * 0.0005).toFixed(5) };
  const answer = await host.dispatch('GET', `products/${world.products[product]}/offers?lat=${point.lat}&lon=${point.lon}&radiusKm=5`);
  return answer.headers['x-cache'] ?? String(answer.status);
}

/** Every (neighbourhood, product) searched once: the cache as a steady stream of searches leaves it. */
async function warmNearMe(host: LocalHost, world: World) {
  for (const { place } of NEIGHBOURHOODS) for (let product = 0; product < SEARCHED_PRODUCTS; product++) await nearMe(host, world, place, product);
}

/** Searches "near me" for `seconds`, popular products more often; counts X-Cache. */
async function nearMeLoad(host: LocalHost, world: World, seconds: number, alongside: () => Promise<void> = async () => {}) {
  const outcomes: Record<string, number> = {};
  const deadline = Date.now() + seconds * 1000;
  let calls = 0;
  const reader = (async () => {
    while (Date.now() < deadline) {
      const { place } = NEIGHBOURHOODS[Math.floor(random() * NEIGHBOURHOODS.length)];
      const cache = await nearMe(host, world, place, popularProduct(SEARCHED_PRODUCTS));
      outcomes[cache] = (outcomes[cache] ?? 0) + 1;
      calls++;
      // A cached answer resolves without I/O: yield, as requests arriving on sockets do, or the feed and projectors never run.
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  await Promise.all([reader, alongside()]);
  return { calls, outcomes, hitRatio: (outcomes.hit ?? 0) / Math.max(1, calls) };
}

/** Price changes from partner feeds at a steady rate, in batches of 100, for `seconds`, of the offers given. */
function steadyFeed(host: LocalHost, asAdmin: Record<string, string>, offers: World['offers'], perSecond: number, seconds: number) {
  return async () => {
    const deadline = Date.now() + seconds * 1000;
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + 30 * DAY).toISOString(), stock: 'in_stock' };
    let written = 0;
    const started = Date.now();
    while (Date.now() < deadline) {
      const items = Array.from({ length: Math.max(1, Math.min(100, Math.round(perSecond / 5))) }, () => {
        const offer = offers[Math.floor(random() * offers.length)];
        return { pharmacyId: offer.pharmacyId, productId: offer.productId, priceCents: 500 + Math.floor(random() * 2_000), ...validity };
      });
      await host.dispatch('POST', 'offers/batch', { items }, asAdmin);
      written += items.length;
      const ahead = (written / perSecond) * 1000 - (Date.now() - started);
      if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead));
    }
  };
}

async function main() {
  // The local server's full scans outlast the read timeout that protects requests in Azure.
  // Fresh entries for an hour: the ratio below shows what invalidation retires, not what the 30 s TTL would.
  const env = { MEMORY_CACHE_MAX_MB: '512', READ_STORE_TIMEOUT_MS: '60000', CACHE_FRESH_SECONDS: '3600' };
  let recorder: Recorder | undefined;
  const recorded = (services: Services) => (recorder = countingReads(services)).services;
  await withLocalPlatform('scale', env, async ({ host, services, asAdmin }) => {
    const settle = async () => {
      await services.bus.idle?.();
    };
    let started = performance.now();
    const world = await seedCountry(host, asAdmin);
    await settle();
    console.log(
      `a country of ${world.pharmacies.length} pharmacies in ${METROS.length} metropolitan areas, ${world.products.length} products, ` +
        `${world.offers.length} offers, seeded through the commands in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    await queryShapes(host, recorder!, world, settle);

    started = performance.now();
    await warmNearMe(host, world);
    console.log(`\n"near me": ${SEARCHED_PRODUCTS} most searched products from ${NEIGHBOURHOODS.length} neighbourhoods, each pair searched once to warm (${((performance.now() - started) / 1000).toFixed(1)} s), then ${SECONDS} s each:`);
    const inSaoPaulo = new Set(world.pharmacies.filter(({ metro }) => metro === METROS[0]).map(({ id }) => id));
    const scaled = Math.max(5, Math.round((NATIONAL_FEED_PER_SECOND * world.offers.length) / NATIONAL_OFFERS));
    const scenarios: [string, (() => Promise<void>) | undefined][] = [
      ['no feed', undefined],
      [`a São Paulo chain's feed, ${scaled} prices/s`, steadyFeed(host, asAdmin, world.offers.filter(({ pharmacyId }) => inSaoPaulo.has(pharmacyId)), scaled, SECONDS)],
      [`feeds across the country, ${scaled} prices/s`, steadyFeed(host, asAdmin, world.offers, scaled, SECONDS)],
      [`feeds across the country, ${STRESS_FEED_PER_SECOND} prices/s (stress)`, steadyFeed(host, asAdmin, world.offers, STRESS_FEED_PER_SECOND, SECONDS)],
    ];
    console.log(`  (${scaled} prices/s is ${NATIONAL_FEED_PER_SECOND} a second over ${NATIONAL_OFFERS / 1_000_000} million offers, scaled to these ${world.offers.length}; at least 5)`);
    for (const [name, feed] of scenarios) {
      const load = await nearMeLoad(host, world, SECONDS, feed);
      await settle();
      console.log(`  ${name.padEnd(48)} ${String(load.calls).padStart(6)} calls, hit ratio ${(load.hitRatio * 100).toFixed(1)} % ${JSON.stringify(load.outcomes)}`);
    }

    // The feed as fast as it goes, new offers (10 batches of 500), until the projections have them too.
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + 30 * DAY).toISOString(), stock: 'in_stock' };
    const fresh = world.pharmacies.slice(0, 100).flatMap(({ id }) => world.products.slice(-50).map((productId) => ({ pharmacyId: id, productId, priceCents: 999, ...validity })));
    started = performance.now();
    for (let start = 0; start < fresh.length; start += 500) await host.dispatch('POST', 'offers/batch', { items: fresh.slice(start, start + 500) }, asAdmin);
    const accepted = performance.now() - started;
    await settle();
    const projected = performance.now() - started;
    console.log(`\npartner feed: ${fresh.length} new offers in batches of 500: accepted at ${Math.round(fresh.length / (accepted / 1000))}/s, ` + `${Math.round(fresh.length / (projected / 1000))}/s with the projections counted`);

    const changes = world.offers.slice(0, 2_000);
    started = performance.now();
    for (const [index, offer] of changes.entries()) await host.dispatch('POST', `offers/${offer.offerId}/price`, { priceCents: 600 + (index % 900) }, asAdmin);
    const commanded = performance.now() - started;
    await settle();
    const withProjections = performance.now() - started;
    console.log(
      `commands (price changes, one at a time, projections in this process): ${Math.round(changes.length / (commanded / 1000))}/s accepted, ` +
        `${Math.round(changes.length / (withProjections / 1000))}/s with the projections counted (npm run bench:commands times them alone)`,
    );
    console.log(`resident memory: ${Math.round(process.memoryUsage().rss / 1024 / 1024)} MB`);
  }, recorded);
}

runBench(main);
