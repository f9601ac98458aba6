import net from 'node:net';

/** A TCP proxy on loopback that can turn into a black hole: connections stay open, nothing passes. */
export interface Blackhole {
  /** `http://127.0.0.1:<port>`: give this to the client instead of the target. */
  endpoint: string;
  /** From now on no byte passes either way, and new connections are accepted and ignored (a cut link, not a refused one). */
  cut(): void;
  /** Bytes pass again on new connections (the held ones stay dead, as after a long partition). */
  restore(): void;
  close(): Promise<void>;
}

/** Proxy to `target` (`host:port` or an `http://host:port` URL), listening on `listenHost` (default loopback). */
export async function startBlackhole(target: string, listenHost = '127.0.0.1'): Promise<Blackhole> {
  const url = new URL(target.includes('://') ? target : `http://${target}`);
  const sockets = new Set<net.Socket>();
  let cut = false;
  const hold = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    hold(client);
    if (cut) {
      client.pause();
      return;
    }
    const upstream = net.connect(Number(url.port), url.hostname);
    hold(upstream);
    const pass = (from: net.Socket, to: net.Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (!cut) to.write(chunk);
      });
      from.on('close', () => {
        if (!cut) to.destroy();
      });
    };
    pass(client, upstream);
    pass(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, listenHost, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://${listenHost}:${port}`,
    cut: () => {
      cut = true;
    },
    restore: () => {
      cut = false;
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
