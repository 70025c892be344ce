import { createServer } from 'node:net';

/**
 * Ports handed out below Linux's ephemeral range (32768–60999 by default), where the OS picks the
 * local port of every outgoing connection: a port taken from that range and listened on later (a
 * runtime started or restarted seconds afterwards) could meanwhile be some client's. With the
 * brokers, databases and browsers of four test files at a time that happened ("listen EADDRINUSE"
 * on a cloud started after its Pi had run for a while).
 */
const FIRST = 20_000;
const LAST = 32_767;
/** never handed out twice by this process */
const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A TCP port free on 127.0.0.1 right now, outside the range outgoing connections take theirs from. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = FIRST + Math.floor(Math.random() * (LAST - FIRST + 1));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${FIRST} and ${LAST} after 100 tries`);
}

/** Gives every key of `ports` a free port (run it in the first `before` of a file that starts servers on them). */
export async function takeFreePorts<K extends string>(ports: Record<K, number>): Promise<void> {
  for (const name of Object.keys(ports) as K[]) ports[name] = await freePort();
}
