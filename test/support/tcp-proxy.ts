import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a real service, so a test can cut one app's link to it (an
 * outage as the app sees it) without stopping a server other tests share.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly links = new Set<{ client: Socket; upstream: Socket }>();
  private cutOff = false;
  private frozen = false;

  private server?: Server;
  port = 0;

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy();
    const server = createServer((client) => {
      if (proxy.cutOff) {
        client.destroy();
        return;
      }
      const upstream = connect(targetPort, targetHost);
      for (const socket of [client, upstream]) {
        proxy.sockets.add(socket);
        socket.on('close', () => proxy.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      const link = { client, upstream };
      proxy.links.add(link);
      client.on('close', () => proxy.links.delete(link));
      if (!proxy.frozen) client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy.server = server;
    proxy.port = (server.address() as AddressInfo).port;
    return proxy;
  }

  /** Drops every open connection and refuses new ones. */
  cut(): void {
    this.cutOff = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.cutOff = false;
  }

  /**
   * A frozen service (a stopped process, a lost route): connections stay open and new ones
   * are accepted, but nothing is forwarded either way until `thaw`; what was sent meanwhile
   * is delivered then.
   */
  freeze(): void {
    this.frozen = true;
    for (const { client, upstream } of this.links) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    for (const { client, upstream } of this.links) client.pipe(upstream).pipe(client);
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
