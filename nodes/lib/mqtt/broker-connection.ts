/**
 * Where one of our own MQTT clients connects (mqtt-ingest, command-sender,
 * mqtt-outbox), from the node's properties: a host (or a whole URL), a port,
 * TLS with PEM files, a login. One reading of these, so every client treats a
 * bad port, an IPv6 host or an unreadable certificate the same way.
 */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';

export interface BrokerAddress {
  /** a host name or address, or a whole URL (mqtt://, mqtts://, ws://, wss://) */
  host: string;
  port: number;
  tls: boolean;
  /** PEM file paths: the CA to trust (empty: the system's), a client certificate and key if the broker asks */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
}

const URL_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:'];

/** The broker's URL; throws a message for the node's status when host or port cannot be one. */
export function brokerUrl(address: Pick<BrokerAddress, 'host' | 'port' | 'tls'>): string {
  const host = address.host.trim();
  if (!host) throw new Error('no broker: set the broker host or URL');
  if (host.includes('://')) {
    const url = new URL(host); // throws "Invalid URL" with the value for a malformed one
    if (!URL_PROTOCOLS.includes(url.protocol)) {
      throw new Error(`broker URL must start with mqtt://, mqtts://, ws:// or wss:// (got ${url.protocol}//)`);
    }
    return host;
  }
  const { port } = address;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port must be a TCP port number (got "${port}")`);
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${address.tls ? 'mqtts' : 'mqtt'}://${bracketed}:${port}`;
}

/** The login and TLS part of MQTT.js's options; throws naming a certificate file that cannot be read. */
export function connectionOptions(address: BrokerAddress): IClientOptions {
  const read = (what: string, file?: string) => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return {
    username: address.username || undefined,
    password: address.password || undefined,
    ...(address.tls && {
      ca: read('CA', address.caFile),
      cert: read('certificate', address.certFile),
      key: read('key', address.keyFile),
      rejectUnauthorized: true,
    }),
  };
}
