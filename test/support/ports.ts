import { createServer } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** Gives every key of `ports` a free port (run it in the first `before` of a file that starts servers on them). */
export async function takeFreePorts<K extends string>(ports: Record<K, number>): Promise<void> {
  for (const name of Object.keys(ports) as K[]) ports[name] = await freePort();
}
