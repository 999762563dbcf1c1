import { randomUUID } from 'node:crypto';
import { offerIdFor } from '../../shared/offers/commands';
import { verifyReadModels, verifySummaries } from '../../shared/kernel/rebuild';
import type { Services } from '../../shared/kernel/services';
import { appModules, READ_PROJECTIONS, READ_SUMMARIES } from '../../shared/platform/app';
import { startLocalHost } from '../../local/host';
import { demoProducts } from '../../local/demo-products';
import { offerBody, pharmacyBody, uniqueGtin } from './fixtures';
import { testServices } from './services';
import { ADMIN, tokenFor } from './tokens';

/**
 * Steady command, read and login load against a running host, for the fault suite
 * (issue 12): every answer is kept with the phase it fell in (healthy, during the fault,
 * after it), and every acknowledged command (a 2xx) with the stream version it answered,
 * so that a test can compare latencies across phases and check nothing acknowledged was lost.
 */

/** `readiness`: GET health/ready, named by the status it reports (healthy, degraded, unhealthy). */
export type Kind = 'command' | 'read' | 'login' | 'readiness';

export interface Sample {
  kind: Kind;
  name: string;
  /** 0: no answer (the connection failed, or the request was held past its timeout). */
  status: number;
  ms: number;
  /** The phase it started and ended in; `<start>><end>` for one that straddled a change (it belongs to neither). */
  phase: string;
}

/** A command the app acknowledged: its stream must hold at least this version. */
export interface Acknowledged {
  name: string;
  streamId: string;
  version: number;
}

/** What a held request may take before it counts as no answer: a hang fails the test, it never holds it. */
export const REQUEST_TIMEOUT_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The streams the commands write, by the projections' prefixes. */
const PREFIX = Object.fromEntries(READ_PROJECTIONS.map((projection) => [projection.container.name, projection.streamPrefix])) as Record<'pharmacies' | 'products' | 'offers', string>;

export interface Answer {
  status: number;
  body: Record<string, unknown> | undefined;
  headers: Headers;
  ms: number;
}

/** One request; no answer within REQUEST_TIMEOUT_MS (or a failed connection) is status 0, never a throw. */
export async function request(base: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<Answer> {
  const started = performance.now();
  const form = typeof body === 'string';
  try {
    const response = await fetch(`${base}/${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' }),
      },
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed, headers: response.headers, ms: performance.now() - started };
  } catch {
    return { status: 0, body: undefined, headers: new Headers(), ms: performance.now() - started };
  }
}

/** What the load works on, made through the API while everything is healthy. */
export interface World {
  pharmacies: string[];
  /** Products whose offers are only ever repriced and republished. */
  products: string[];
  offers: { id: string; pharmacyId: string; productId: string }[];
  /** A product the load discontinues and reinstates (its offers are withdrawn by the reaction, then republished). */
  toggled: { productId: string; pharmacies: string[]; discontinued: boolean };
  user?: { email: string; password: string };
}


function expectCreated(answer: Answer, what: string): string {
  if (answer.status !== 201 && answer.status !== 200) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body!.id as string;
}

/** Pharmacies, products and their offers, and (with `withUser`) an account whose logins the load tries. */
export async function seedWorld(base: string, token: string, options: { pharmacies?: number; products?: number; withUser?: boolean } = {}): Promise<World> {
  const api = (method: string, path: string, body?: unknown) => request(base, token, method, path, body);
  const pharmacies: string[] = [];
  for (let i = 0; i < (options.pharmacies ?? 4); i++) pharmacies.push(expectCreated(await api('POST', 'pharmacies', pharmacyBody({ tradeName: `Drogaria Falha ${i}` })), 'a pharmacy'));
  const product = async (i: number) => expectCreated(await api('POST', 'products', { ...demoProducts()[i], gtin: uniqueGtin() }), 'a product');
  const products: string[] = [];
  for (let i = 0; i < (options.products ?? 2); i++) products.push(await product(i));
  const offers = [];
  for (const productId of products) {
    for (const pharmacyId of pharmacies) offers.push({ id: expectCreated(await api('POST', 'offers', offerBody(pharmacyId, productId, 1000)), 'an offer'), pharmacyId, productId });
  }
  const toggledProduct = await product(10);
  for (const pharmacyId of pharmacies) expectCreated(await api('POST', 'offers', offerBody(pharmacyId, toggledProduct, 2000)), 'an offer of the toggled product');
  let user: World['user'];
  if (options.withUser) {
    user = { email: `${randomUUID()}@exemplo.com.br`, password: 'a long and private passphrase' };
    expectCreated(await request(base, undefined, 'POST', 'auth/register', { email: user.email, password: user.password, name: 'Dona Carga' }), 'an account');
  }
  return { pharmacies, products, offers, toggled: { productId: toggledProduct, pharmacies, discontinued: false }, user };
}

const pick = <T>(items: T[], n: number) => items[n % items.length];

/** `degraded (signIns unavailable)`: the status and each capability not fully available. */
function describeReadiness(body: Record<string, unknown> | undefined): string {
  if (!body) return 'no answer';
  const limited = Object.entries((body.capabilities ?? {}) as Record<string, string>).filter(([, status]) => status !== 'available');
  return `${String(body.status)}${limited.length ? ` (${limited.map(([capability, status]) => `${capability} ${status}`).join(', ')})` : ''}`;
}

/**
 * The load: one sequential loop per kind, each at its own pace (a slow answer delays its
 * loop, it does not pile requests up). Commands cycle through registering, changing,
 * repricing and republishing, and discontinuing and reinstating a product (which runs the
 * offers' reactions); reads by id, lists and the geographic offer search; logins by password.
 */
export class SteadyLoad {
  phase = 'healthy';
  readonly samples: Sample[] = [];
  readonly acknowledged: Acknowledged[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly base: () => string,
    private readonly token: string,
    private readonly world: World,
    private readonly pace: { commandsPerSecond: number; readsPerSecond: number; loginsPerSecond?: number; readinessPerSecond?: number },
  ) {}

  start(): void {
    this.running = true;
    this.loops = [
      this.loop(this.pace.commandsPerSecond, (n) => this.command(n)),
      this.loop(this.pace.readsPerSecond, (n) => this.read(n)),
      ...(this.pace.loginsPerSecond && this.world.user ? [this.loop(this.pace.loginsPerSecond, () => this.login())] : []),
      ...(this.pace.readinessPerSecond ? [this.loop(this.pace.readinessPerSecond, () => this.readiness())] : []),
    ];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Lets `ms` of load run in the current phase. */
  async run(ms: number): Promise<void> {
    await sleep(ms);
  }

  private async loop(perSecond: number, step: (n: number) => Promise<void>) {
    const interval = 1000 / perSecond;
    for (let n = 0; this.running; n++) {
      const started = performance.now();
      await step(n);
      await sleep(Math.max(0, interval - (performance.now() - started)));
    }
  }

  private async call(kind: Kind, name: string | ((answer: Answer) => string), method: string, path: string, body?: unknown, token: string | null = this.token) {
    const phase = this.phase;
    const answer = await request(this.base(), token ?? undefined, method, path, body);
    const named = typeof name === 'string' ? name : name(answer);
    this.samples.push({ kind, name: named, status: answer.status, ms: answer.ms, phase: phase === this.phase ? phase : `${phase}>${this.phase}` });
    return answer;
  }

  /** What readiness says (recorded, not judged: issue 12 item 5 is about what it should say). */
  private async readiness() {
    await this.call('readiness', (answer) => describeReadiness(answer.body), 'GET', 'health/ready', undefined, null);
  }

  private async command(n: number) {
    const { world } = this;
    const acknowledge = (name: string, prefix: string, answer: Answer) => {
      if (answer.status >= 200 && answer.status < 300 && answer.body) {
        this.acknowledged.push({ name, streamId: `${prefix}${answer.body.id as string}`, version: answer.body.version as number });
      }
      return answer;
    };
    switch (n % 6) {
      case 0:
        return void acknowledge('registerPharmacy', PREFIX.pharmacies, await this.call('command', 'registerPharmacy', 'POST', 'pharmacies', pharmacyBody()));
      case 1: {
        const id = pick(world.pharmacies, n);
        return void acknowledge('changePharmacyProfile', PREFIX.pharmacies, await this.call('command', 'changePharmacyProfile', 'PATCH', `pharmacies/${id}`, { tradeName: `Drogaria Carga ${n}` }));
      }
      case 2: {
        const offer = pick(world.offers, n);
        return void acknowledge('changeOfferPrice', PREFIX.offers, await this.call('command', 'changeOfferPrice', 'POST', `offers/${offer.id}/price`, { priceCents: 500 + n }));
      }
      case 3: {
        const offer = pick(world.offers, n + 1);
        return void acknowledge('publishOffer', PREFIX.offers, await this.call('command', 'publishOffer', 'POST', 'offers', offerBody(offer.pharmacyId, offer.productId, 700 + n, 30 + (n % 7))));
      }
      case 4: {
        // Discontinue, or reinstate: the discontinuation's reaction withdraws the product's offers (through the bus).
        const { toggled } = world;
        const path = `products/${toggled.productId}/${toggled.discontinued ? 'reinstatement' : 'discontinuation'}`;
        const answer = acknowledge(toggled.discontinued ? 'reinstateProduct' : 'discontinueProduct', PREFIX.products, await this.call('command', 'toggleProduct', 'POST', path));
        if (answer.status === 200) toggled.discontinued = !toggled.discontinued;
        return;
      }
      default: {
        // Republishing an offer of the toggled product while it is active (after a reinstatement: the reaction may have withdrawn it).
        const { toggled } = world;
        if (toggled.discontinued) return;
        const pharmacyId = pick(toggled.pharmacies, n);
        return void acknowledge('publishOffer', PREFIX.offers, await this.call('command', 'republishOffer', 'POST', 'offers', offerBody(pharmacyId, toggled.productId, 1900 + n)));
      }
    }
  }

  private async read(n: number) {
    const { world } = this;
    switch (n % 5) {
      case 0:
        return void (await this.call('read', 'getPharmacy', 'GET', `pharmacies/${pick(world.pharmacies, n)}`));
      case 1:
        return void (await this.call('read', 'getProduct', 'GET', `products/${pick(world.products, n)}`));
      case 2:
        return void (await this.call('read', 'getOffer', 'GET', `offers/${pick(world.offers, n).id}`));
      case 3:
        return void (await this.call('read', 'listPharmacies', 'GET', `pharmacies?state=SP&limit=${1 + (n % 20)}`));
      default:
        return void (await this.call('read', 'productOffersNear', 'GET', `products/${pick(world.products, n)}/offers?lat=-23.5614&lon=-46.6559&radiusKm=5`));
    }
  }

  private async login() {
    const { email, password } = this.world.user!;
    await this.call('login', 'passwordLogin', 'POST', 'auth/token', new URLSearchParams({ grant_type: 'password', username: email, password }).toString(), null);
  }

  /** The answers of a kind in a phase. */
  of(kind: Kind, phase: string): Sample[] {
    return this.samples.filter((sample) => sample.kind === kind && sample.phase === phase);
  }

  /** Reads and commands, in any phase (straddling ones too), that got no answer or a 5xx: none may. */
  failures(): Sample[] {
    return this.samples.filter((sample) => (sample.kind === 'read' || sample.kind === 'command') && (sample.status === 0 || sample.status >= 500));
  }

  /** `200 degraded×5, 200 healthy×1`: what readiness answered in a phase. */
  readinessIn(phase: string): string {
    const counts = new Map<string, number>();
    for (const sample of this.of('readiness', phase)) counts.set(`${sample.status} ${sample.name}`, (counts.get(`${sample.status} ${sample.name}`) ?? 0) + 1);
    return [...counts].map(([answer, count]) => `${answer}×${count}`).join(', ') || 'not asked';
  }
}

export const offerIds = (world: World) => [...world.offers.map((offer) => offer.id), ...world.toggled.pharmacies.map((pharmacyId) => offerIdFor(pharmacyId, world.toggled.productId))];

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/** `p50 12 ms, p95 30 ms, max 80 ms (n 40; 200×38, 503×2)`. */
export function describeLatency(samples: Sample[]): string {
  const ms = samples.map((sample) => sample.ms);
  const statuses = new Map<number, number>();
  for (const sample of samples) statuses.set(sample.status, (statuses.get(sample.status) ?? 0) + 1);
  const counts = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(', ');
  return `p50 ${Math.round(percentile(ms, 50))} ms, p95 ${Math.round(percentile(ms, 95))} ms, max ${Math.round(Math.max(...ms))} ms (n ${samples.length}; ${counts})`;
}

/** The acknowledged commands whose stream does not hold their version: lost. */
export async function lostCommands(services: Services, acknowledged: Acknowledged[]): Promise<Acknowledged[]> {
  const highest = new Map<string, Acknowledged>();
  for (const ack of acknowledged) if ((highest.get(ack.streamId)?.version ?? 0) < ack.version) highest.set(ack.streamId, ack);
  const lost: Acknowledged[] = [];
  for (const ack of highest.values()) {
    const events = await services.eventStore.readStream(ack.streamId);
    if ((events[events.length - 1]?.version ?? 0) < ack.version) lost.push(ack);
  }
  return lost;
}

/** Every read model against a rebuild from the event store: the differences, and a line to print. */
export async function readModelDifferences(services: Services): Promise<{ count: number; summary: string }> {
  // The summaries too: a kill between a product's write and its recount must be repaired by the redelivery.
  const reports = [...(await verifyReadModels(services, READ_PROJECTIONS)), ...(await verifySummaries(services, READ_SUMMARIES))];
  const count = reports.reduce((sum, report) => sum + report.differences.length, 0);
  const summary = reports
    .map((report) => `${report.container}: ${report.actual}/${report.expected}${report.differences.length ? ` ${JSON.stringify(report.differences.slice(0, 5))}` : ''}`)
    .join('; ');
  return { count, summary };
}

/** Polls `check` every 250 ms; resolves to the time it took, rejects after `deadlineMs`. */
export async function until(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > deadlineMs) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await sleep(250);
  }
  return Date.now() - started;
}

/** The platform on a local host over the given dependencies, seeded, under steady load for a few healthy seconds. */
export async function underSteadyLoad(
  env: Record<string, string>,
  options: { withUser?: boolean; loginsPerSecond?: number; composed?: (services: Services) => Promise<void> } = {},
) {
  const services = await testServices(env);
  await options.composed?.(services);
  const host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
  const token = await tokenFor(services, ADMIN);
  const world = await seedWorld(host.url, token, { withUser: options.withUser });
  // The seed reaches the read models before the reads start.
  await until('the seed is projected', 30_000, async () => (await readModelDifferences(services)).count === 0);
  const load = new SteadyLoad(() => host.url, token, world, { commandsPerSecond: 5, readsPerSecond: 10, readinessPerSecond: 1, loginsPerSecond: options.loginsPerSecond });
  load.start();
  await load.run(4_000);
  return {
    services,
    host,
    token,
    world,
    load,
    async stop() {
      await load.stop();
      await host.stop();
      await services.dispose();
    },
  };
}

/** Waits until nothing is left in the outbox and every read model equals a rebuild; the time it took, and the last comparison. */
export async function converged(services: Services, what: string, deadlineMs: number): Promise<{ ms: number; summary: string }> {
  let last = '';
  const ms = await until(what, deadlineMs, async () => {
    if ((await services.eventStore.pendingOutbox(0, 1)).length > 0) return (last = 'outbox not empty'), false;
    const differences = await readModelDifferences(services);
    last = differences.summary;
    return differences.count === 0;
  }).catch((error: Error) => {
    throw new Error(`${error.message}; last: ${last}`);
  });
  return { ms, summary: last };
}
