import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read, close). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('freePorts(1) returned no port');
  return port;
}

/**
 * `count` distinct free ports on 127.0.0.1. They are held open together
 * before any is closed, so the kernel cannot hand out the same one twice.
 * NOTE: another process may still take a port before the caller binds it;
 * callers that spawn a server retry with fresh ports when it fails to bind.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected server address');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/**
 * A free port on 127.0.0.1 for Docker to publish a container on, below the kernel's ephemeral range:
 * Docker hands out the ports it chooses itself (a published port without a hostPort) from that range
 * in order, and a port freePort() drew from it can be one Docker gives another container a moment
 * later ("bind: address already in use"). Below 30000, so it is never a Service's nodePort either.
 */
export async function freeHostPort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port between 20000 and 30000 on 127.0.0.1');
}
