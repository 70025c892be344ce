/**
 * The broker nodes amqp-ingest may use, from the node's `urls` property: one URL per node
 * (comma, space or newline between them), `amqp://host:port/vhost` or `amqps://...`. The login
 * is never part of a URL here: it lives in the node's credentials, so a flow file (and a log
 * line that names the broker) never carries it.
 */
import { readFileSync } from 'node:fs';
import type { Options } from 'amqplib';

export interface BrokerNode {
  /** what status text and logs show: host:port/vhost, no login */
  label: string;
  connect: Options.Connect;
}

export interface Login {
  username: string;
  password: string;
}

const DEFAULT_PORTS: Record<string, number> = { 'amqp:': 5672, 'amqps:': 5671 };
/** Seconds between heartbeats: a node that vanished without closing its sockets (a partition) shows within two. */
export const HEARTBEAT_SECONDS = 10;

/** Throws a message for the node's status when a URL cannot be used. */
export function parseBrokerUrls(raw: string, login: Login): BrokerNode[] {
  const urls = raw
    .split(/[\s,]+/)
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new Error('no broker: list the RabbitMQ nodes as amqp://host:5672/picam');
  return urls.map((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new Error(`not a broker URL: "${text}" (amqp://host:5672/picam)`);
    }
    const defaultPort = DEFAULT_PORTS[url.protocol];
    const port = url.port ? Number(url.port) : defaultPort;
    if (defaultPort === undefined || port === undefined)
      throw new Error(`broker URL must start with amqp:// or amqps:// (got ${url.protocol}//)`);
    if (!url.hostname) throw new Error(`not a broker URL: "${text}" has no host (amqp://host:5672/picam)`);
    if (url.username || url.password) throw new Error(`put the login in the node's username and password, not in the URL ${url.host}`);
    const vhost = decodeURIComponent(url.pathname.replace(/^\//, '')) || '/';
    return {
      label: `${url.hostname}:${port}/${vhost}`,
      connect: {
        protocol: url.protocol.slice(0, -1),
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port,
        vhost,
        username: login.username,
        password: login.password,
        heartbeat: HEARTBEAT_SECONDS,
      },
    };
  });
}

/** TLS options for amqps: the CA to trust (empty: the system's); throws naming a file that cannot be read. */
export function tlsOptions(caFile: string | undefined): { ca?: Buffer[] } {
  if (!caFile) return {};
  try {
    return { ca: [readFileSync(caFile)] };
  } catch (err) {
    throw new Error(`cannot read the CA file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
