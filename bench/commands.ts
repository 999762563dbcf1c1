// `npm run bench:commands`: what the command pipeline itself costs (issue 14 item 4). An
// offer is published again and again with a new price through runCommand on the embedded
// store: each command loads three aggregates (the offer, and its pharmacy and product as
// facts), decides, appends and publishes. The bus takes the events and does nothing, so
// neither the projector nor a broker is measured; no token either. 8 pharmacies, one
// product; 500 commands to warm up, then BENCH_COMMANDS (default 3 000) timed, one after
// the other, in 3 rounds: µs per command (wall and CPU) and commands per second.
import { runBench, withLocalPlatform } from './local-platform';
import { InvocationContext } from '@azure/functions';
import { runCommand } from '../shared/kernel/command';
import type { EventBus } from '../shared/kernel/ports';
import { publishOfferSpec } from '../shared/offers/commands';
import { demoProducts } from '../local/demo-products';
import { cnpjCheckDigits } from '../shared/pharmacies/domain/cnpj';
import { gtinCheckDigit } from '../shared/catalog/domain/gtin';

const COMMANDS = Number(process.env.BENCH_COMMANDS) || 3_000;
const WARM_UP = 500;
const PHARMACIES = 8;
const DAY = 86_400_000;

async function main() {
  await withLocalPlatform('commands', {}, async ({ host, services, asAdmin }) => {
    const gtinBody = '789555000002';
    const product = await host.dispatch('POST', 'products', { ...demoProducts()[0], name: 'Bench', gtin: gtinBody + gtinCheckDigit(gtinBody) }, asAdmin);
    const productId = (product.body as { id: string }).id;
    const pharmacyIds: string[] = [];
    for (let index = 0; index < PHARMACIES; index++) {
      const cnpjBody = `${String(20_000_000 + index).padStart(8, '0')}0001`;
      const body = {
        cnpj: cnpjBody + cnpjCheckDigits(cnpjBody), tradeName: `Bench ${index}`, legalName: `Bench ${index} Ltda`, phone: '(11) 3456-7890',
        address: { street: 'Avenida Paulista', number: String(index + 1), district: 'Bela Vista', city: 'São Paulo', state: 'SP', postalCode: '01310-100' },
        location: { lat: -23.5614, lon: -46.6559 }, openingHours: [{ day: 'mon', opens: '08:00', closes: '22:00' }], services: [],
      };
      pharmacyIds.push(((await host.dispatch('POST', 'pharmacies', body, asAdmin)).body as { id: string }).id);
    }
    await services.bus.idle?.();

    const bus: EventBus = { publish: async () => {}, subscribe: () => {}, ping: async () => {}, close: async () => {} };
    const quiet = { ...services, bus };
    const context = new InvocationContext({ functionName: 'bench', logHandler: () => {} });
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + 10 * DAY).toISOString(), stock: 'in_stock' as const };
    const publish = (index: number) =>
      runCommand(quiet, publishOfferSpec, {
        principal: 'system',
        body: { pharmacyId: pharmacyIds[index % PHARMACIES], productId, priceCents: 1_000 + index, ...validity },
        metadata: { correlationId: 'bench' },
        context,
      });
    let index = 0;
    for (; index < WARM_UP; index++) await publish(index);
    const perRound = Math.ceil(COMMANDS / 3);
    for (let round = 1; round <= 3; round++) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let call = 0; call < perRound; call++, index++) await publish(index);
      const wall = performance.now() - started;
      const used = process.cpuUsage(cpu);
      console.log(
        `round ${round}: ${perRound} commands, ${((wall * 1000) / perRound).toFixed(0)} µs per command (CPU ${((used.user + used.system) / perRound).toFixed(0)} µs), ${(perRound / (wall / 1000)).toFixed(0)} commands/s`,
      );
    }
  });
}

runBench(main);
