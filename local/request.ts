import { HttpRequest, type HttpRequestParams, type HttpRequestUser } from '@azure/functions';

/**
 * A request's headers over the plain record the host read them into, behaving as the
 * Fetch `Headers` a handler would otherwise get: names case-insensitive, iteration
 * sorted by name. Building a real `Headers` (and the undici `Request` around it) for every
 * request cost the local host more than the whole by-id read handler; handlers only ask a
 * header or two.
 */
export class RecordHeaders implements Headers {
  private readonly values_: Record<string, string>;

  /** `headers` is kept, not copied (the host builds a record for each request): lowercase names, as Node gives them. */
  constructor(headers: Record<string, string>) {
    this.values_ = Object.keys(headers).every((name) => name === name.toLowerCase()) ? headers : lowercased(headers);
  }

  get(name: string): string | null {
    const key = name.toLowerCase();
    // Own names only: "constructor" or "__proto__" would otherwise answer Object's.
    return Object.hasOwn(this.values_, key) ? this.values_[key] : null;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.values_, name.toLowerCase());
  }

  set(name: string, value: string): void {
    this.values_[name.toLowerCase()] = value;
  }

  append(name: string, value: string): void {
    const key = name.toLowerCase();
    this.values_[key] = Object.hasOwn(this.values_, key) ? `${this.values_[key]}, ${value}` : value;
  }

  delete(name: string): void {
    delete this.values_[name.toLowerCase()];
  }

  getSetCookie(): string[] {
    const cookie = this.values_['set-cookie'];
    return cookie === undefined ? [] : [cookie];
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  entries() {
    return Object.entries(this.values_)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .values();
  }

  keys() {
    return [...this.entries()].map(([name]) => name).values();
  }

  values() {
    return [...this.entries()].map(([, value]) => value).values();
  }

  [Symbol.iterator]() {
    return this.entries();
  }
}

/** A record's names in lower case, values of names that differ only in case joined as `Headers` joins them. */
function lowercased(headers: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    result[key] = Object.hasOwn(result, key) ? `${result[key]}, ${value}` : value;
  }
  return result;
}

export interface LocalRequestInit {
  method: string;
  /** The absolute URL, as the host parsed it once. */
  url: URL;
  headers: Record<string, string>;
  params: HttpRequestParams;
  body?: Buffer;
}

/** Decodes a body as the Fetch `text()` does: UTF-8, a leading byte order mark dropped, invalid bytes replaced. */
const utf8 = new TextDecoder();

/**
 * The `HttpRequest` the local host hands a handler. In Azure the Functions worker builds
 * the request; here it costs only what a handler uses: the URL parsed once (its query
 * included), the headers over the record read from the socket, the body as the buffer
 * already read. What handlers do not use on the hot path (`user`, `body` as a stream,
 * `blob`, `formData`, `clone`) is answered by a real `HttpRequest`, built on first use.
 */
export class LocalHttpRequest implements HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly query: URLSearchParams;
  readonly params: HttpRequestParams;
  private readonly bytes: Buffer | undefined;
  private consumed = false;
  private functionsRequest: HttpRequest | undefined;

  constructor(private readonly init: LocalRequestInit) {
    this.method = init.method;
    this.url = init.url.href;
    this.headers = new RecordHeaders(init.headers);
    this.query = init.url.searchParams;
    this.params = init.params;
    // As the Functions request does: GET and HEAD carry no body.
    this.bytes = init.method === 'GET' || init.method === 'HEAD' || !init.body?.length ? undefined : init.body;
  }

  /** The Functions library's own request, for the members only it implements. */
  private real(): HttpRequest {
    this.functionsRequest ??= new HttpRequest({
      method: this.method,
      url: this.url,
      headers: Object.fromEntries(this.headers),
      params: this.params,
      ...(this.bytes ? { body: { bytes: this.bytes } } : {}),
    });
    return this.functionsRequest;
  }

  get user(): HttpRequestUser | null {
    return this.real().user;
  }

  get body() {
    return this.real().body;
  }

  get bodyUsed(): boolean {
    return this.consumed || (this.functionsRequest?.bodyUsed ?? false);
  }

  /** A body is read once, as a Fetch body is. */
  private unread(): void {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
  }

  /** The body's bytes, once (a request without a body reads empty, any number of times). */
  private take(): Buffer | undefined {
    this.unread();
    if (this.bytes) this.consumed = true;
    return this.bytes;
  }

  async text(): Promise<string> {
    const bytes = this.take();
    return bytes ? utf8.decode(bytes) : '';
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.take();
    return bytes ? new Uint8Array(bytes).buffer : new ArrayBuffer(0);
  }

  async blob() {
    this.unread();
    return this.real().blob();
  }

  async formData() {
    this.unread();
    return this.real().formData();
  }

  clone(): HttpRequest {
    this.unread();
    return new LocalHttpRequest({ ...this.init, headers: Object.fromEntries(this.headers) });
  }
}
