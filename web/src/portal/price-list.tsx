import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, bodyOf } from '../api';
import { price } from '../format';
import { sendSignedIn } from '../session';
import { Failure } from '../status';
import { instantIn, todayIn } from '../zoned';
import { COLUMNS, csvCell, MAX_BYTES, parsePriceList, priceListText, type PriceRow } from './csv';

/** The batch feed takes at most 500 items a request. */
const CHUNK = 500;
const LOOKUPS_AT_ONCE = 4;
const ATTEMPTS = 3;

type Outcome = 'nova' | 'atualizada' | 'sem alteração' | 'recusada';
interface RowReport {
  line: number;
  gtin: string;
  outcome: Outcome;
  reason?: string;
}

interface BatchResult {
  index: number;
  status: number;
  unchanged?: boolean;
  error?: { title: string; detail: string; errors?: { message?: string }[] };
}

/** Upload a price list: read and preview it here, send it through the batch feed in chunks, report each line. */
export function PriceListUpload({ pharmacyId, timeZone }: { pharmacyId: string; timeZone: string }) {
  const [rows, setRows] = useState<PriceRow[]>();
  const [fileError, setFileError] = useState<string>();
  const [progress, setProgress] = useState<{ done: number; total: number }>();
  const [report, setReport] = useState<RowReport[]>();
  const [failure, setFailure] = useState<unknown>();

  const choose = async (event: Event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    setRows(undefined);
    setReport(undefined);
    setFileError(undefined);
    if (!file) return;
    if (file.size > MAX_BYTES) return setFileError(`O arquivo tem mais de ${MAX_BYTES / 1_000_000} MB.`);
    const parsed = parsePriceList(priceListText(new Uint8Array(await file.arrayBuffer())), new Date(), timeZone);
    if ('error' in parsed) setFileError(parsed.error);
    else setRows(parsed.rows);
  };

  const send = async () => {
    if (!rows) return;
    setFailure(undefined);
    setProgress({ done: 0, total: rows.length });
    try {
      setReport(await sendPriceList(pharmacyId, timeZone, rows, (done) => setProgress({ done, total: rows.length })));
    } catch (error) {
      setFailure(error);
    } finally {
      setProgress(undefined);
    }
  };

  const refusedHere = rows?.filter((row) => row.refusal).length ?? 0;
  return (
    <section class="card" aria-labelledby="lista-precos">
      <h2 id="lista-precos">Lista de preços (CSV)</h2>
      <p>
        Colunas (a primeira linha as nomeia; separadas por ponto e vírgula ou vírgula): <code>{COLUMNS.join(';')}</code>. Obrigatórias: <code>gtin</code> e <code>preco</code> (12,90). <code>estoque</code>: em_estoque, baixo ou
        sem_estoque (padrão em_estoque). <code>validade</code>: AAAA-MM-DD ou DD/MM/AAAA (padrão: 30 dias).
      </p>
      <label for="arquivo-csv">Arquivo CSV</label>
      <input id="arquivo-csv" type="file" accept=".csv,text/csv" onChange={(event) => void choose(event)} />
      {fileError && (
        <p class="notice error" role="alert">
          {fileError}
        </p>
      )}
      {rows && !report && (
        <>
          <p role="status">
            {rows.length} linhas lidas; {rows.length - refusedHere} prontas para enviar, {refusedHere} com erro (no relatório).
          </p>
          <Preview rows={rows.slice(0, 10)} />
          <button type="button" disabled={progress !== undefined} onClick={() => void send()}>
            Enviar {rows.length - refusedHere} preços
          </button>
        </>
      )}
      {progress && (
        <p>
          <label for="progresso">Enviando…</label> <progress id="progresso" max={progress.total} value={progress.done} /> {progress.done} de {progress.total}
        </p>
      )}
      {failure !== undefined && <Failure error={failure} onRetry={() => void send()} />}
      {report && <Report report={report} />}
    </section>
  );
}

function Preview({ rows }: { rows: PriceRow[] }) {
  return (
    <table class="grid">
      <caption>Primeiras linhas</caption>
      <thead>
        <tr>
          <th scope="col">Linha</th>
          <th scope="col">GTIN</th>
          <th scope="col">Preço</th>
          <th scope="col">Situação</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.line}>
            <td>{row.line}</td>
            <td>{row.gtin}</td>
            <td>{row.terms ? price(row.terms.priceCents) : '–'}</td>
            <td>{row.refusal ?? 'pronta'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Report({ report }: { report: RowReport[] }) {
  const count = (outcome: Outcome) => report.filter((row) => row.outcome === outcome).length;
  const refused = report.filter((row) => row.outcome === 'recusada');
  const download = useMemo(() => {
    const csv = ['linha;gtin;resultado;motivo', ...report.map((row) => [row.line, row.gtin, row.outcome, row.reason ?? ''].map(csvCell).join(';'))].join('\r\n');
    // The byte-order mark makes spreadsheets read the accents as UTF-8.
    return URL.createObjectURL(new Blob([`\uFEFF${csv}`], { type: 'text/csv;charset=utf-8' }));
  }, [report]);
  useEffect(() => () => URL.revokeObjectURL(download), [download]);
  return (
    <div class="report">
      <h3>Relatório</h3>
      <p class="summary" role="status">
        {count('nova')} novas, {count('atualizada')} atualizadas, {count('sem alteração')} sem alteração, {refused.length} recusadas.
      </p>
      <a href={download} download="relatorio-lista-de-precos.csv">
        Baixar o relatório (CSV)
      </a>
      {refused.length > 0 && (
        <table class="grid">
          <caption>Linhas recusadas</caption>
          <thead>
            <tr>
              <th scope="col">Linha</th>
              <th scope="col">GTIN</th>
              <th scope="col">Motivo</th>
            </tr>
          </thead>
          <tbody>
            {refused.slice(0, 200).map((row) => (
              <tr key={row.line}>
                <td>{row.line}</td>
                <td>{row.gtin}</td>
                <td>{row.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** Up to this many GTINs resolved per request (the catalog's `gtin` filter). */
const GTINS_PER_LOOKUP = 100;
const gtin14 = (gtin: string) => gtin.padStart(14, '0');

type Found = Map<string, { id?: string; reason?: string }>;

/** One GTIN alone: its product, or the catalog's reason (a check digit that does not match…). */
async function lookUpOne(gtin: string, found: Found): Promise<void> {
  try {
    // A lost answer, a 429 or a 503 is retried as the API asks; a 404 or 400 is the line's reason below.
    found.set(gtin, { id: (await withRetries(async () => bodyOf<{ id: string }>(await sendSignedIn(`products/gtin/${gtin}`)))).id });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500 || error.status === 429) throw error;
    found.set(gtin, { reason: error.status === 404 ? 'produto não encontrado no catálogo' : error.message });
  }
}

/**
 * GTIN → product id, a hundred GTINs a request, a few requests at a time. A hundred the
 * catalog refuses (one of them is not a GTIN) are looked up one by one, so each line gets
 * its own reason.
 */
async function productsByGtin(gtins: string[]): Promise<Found> {
  const found: Found = new Map();
  const chunks = Array.from({ length: Math.ceil(gtins.length / GTINS_PER_LOOKUP) }, (_, i) => gtins.slice(i * GTINS_PER_LOOKUP, (i + 1) * GTINS_PER_LOOKUP));
  const worker = async () => {
    for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
      const query = new URLSearchParams({ gtin: chunk.join(','), includeDiscontinued: 'true', limit: String(GTINS_PER_LOOKUP) });
      const response = await withRetries(async () => {
        const answer = await sendSignedIn(`products?${query}`);
        // A 429 or 503 is retried; a 400 (one of them is not a GTIN) is looked at below.
        return answer.ok || answer.status === 400 ? answer : Promise.reject(await bodyOf(answer).catch((error: unknown) => error));
      });
      if (response.status === 400) {
        for (const gtin of chunk) await lookUpOne(gtin, found);
        continue;
      }
      const byGtin14 = new Map((await bodyOf<{ items: { id: string; gtin: string }[] }>(response)).items.map((product) => [gtin14(product.gtin), product.id]));
      for (const gtin of chunk) {
        const id = byGtin14.get(gtin14(gtin));
        found.set(gtin, id ? { id } : { reason: 'produto não encontrado no catálogo' });
      }
    }
  };
  await Promise.all(Array.from({ length: LOOKUPS_AT_ONCE }, worker));
  return found;
}

/** A 500-item chunk takes far longer than a read: its answer is awaited this long before a retry. */
const CHUNK_TIMEOUT_MS = 90_000;

/**
 * How long a chunk's first attempt may still be running when its retry arrives: the
 * server's claim on the Idempotency-Key lasts as long as a request may and a minute more
 * (host.json's functionTimeout, 5 minutes: a 6-minute lease), and answers 409 with
 * Retry-After until the attempt ends. A minute to spare: the claim is made a little after
 * this wait starts.
 */
const IN_PROGRESS_WAIT_MS = 7 * 60_000;

/** A 409 that asks to come back later: the same request, still running on the server. */
const stillRunning = (error: unknown) => error instanceof ApiError && error.status === 409 && error.retryAfterSeconds !== undefined;

/**
 * `work` again after a lost answer, a 429 or a 503 (a few attempts), or while the server
 * says the same request is still running (until it ends), waiting what the API asked.
 */
async function withRetries<T>(work: () => Promise<T>): Promise<T> {
  const waitUntil = Date.now() + IN_PROGRESS_WAIT_MS;
  for (let attempt = 1; ; ) {
    try {
      return await work();
    } catch (error) {
      const waiting = stillRunning(error) && Date.now() < waitUntil;
      const retryable = error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status === 503);
      if (!waiting && (!retryable || attempt >= ATTEMPTS)) throw error;
      if (!waiting) attempt++;
      await new Promise((resolve) => setTimeout(resolve, ((error as ApiError).retryAfterSeconds ?? attempt) * 1000));
    }
  }
}

/** One chunk through the batch feed; the same Idempotency-Key on a retry, so a chunk is never applied twice. */
async function sendChunk(items: object[]): Promise<BatchResult[]> {
  const key = crypto.randomUUID();
  const init = { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify({ items }) };
  return withRetries(async () => (await bodyOf<{ results: BatchResult[] }>(await sendSignedIn('offers/batch', init, CHUNK_TIMEOUT_MS))).results);
}

function outcomeOf(result: BatchResult): Pick<RowReport, 'outcome' | 'reason'> {
  if (result.status === 201) return { outcome: 'nova' };
  if (result.status === 200) return { outcome: result.unchanged ? 'sem alteração' : 'atualizada' };
  const fields = (result.error?.errors ?? []).map((field) => field.message).filter(Boolean);
  return { outcome: 'recusada', reason: [result.error?.detail ?? `erro ${result.status}`, ...fields].join('; ') };
}

async function sendPriceList(pharmacyId: string, timeZone: string, rows: PriceRow[], onProgress: (done: number) => void): Promise<RowReport[]> {
  const report = new Map<number, RowReport>();
  const refuse = (row: PriceRow, reason: string) => report.set(row.line, { line: row.line, gtin: row.gtin, outcome: 'recusada', reason });
  rows.filter((row) => row.refusal).forEach((row) => refuse(row, row.refusal!));
  const ready = rows.filter((row) => row.terms);
  const products = await productsByGtin([...new Set(ready.map((row) => row.gtin))]);
  const sendable = ready.filter((row) => {
    const product = products.get(row.gtin);
    if (!product?.id) refuse(row, product?.reason ?? 'produto não encontrado no catálogo');
    return Boolean(product?.id);
  });
  let done = rows.length - sendable.length;
  onProgress(done);
  // From the start of the day it is sent, in the pharmacy's zone, not the second: the same
  // list sent twice in a day then reads "unchanged" line by line.
  const validFrom = instantIn(timeZone, todayIn(timeZone), '00:00:00');
  for (let start = 0; start < sendable.length; start += CHUNK) {
    const chunk = sendable.slice(start, start + CHUNK);
    const results = await sendChunk(chunk.map((row) => ({ pharmacyId, productId: products.get(row.gtin)!.id, validFrom, ...row.terms })));
    for (const result of results) {
      const row = chunk[result.index];
      report.set(row.line, { line: row.line, gtin: row.gtin, ...outcomeOf(result) });
    }
    done += chunk.length;
    onProgress(done);
  }
  return [...report.values()].sort((a, b) => a.line - b.line);
}
