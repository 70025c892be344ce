/**
 * HTTP requests written byte by byte, for what fetch cannot send: bodies that
 * stall halfway, broken request targets, multipart bodies with two files or
 * none, and a look at the response before the body is complete.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawExchange {
  socket: Socket;
  /** the response, as soon as its head and Content-Length bytes arrived (or the server closed) */
  response: Promise<RawResponse>;
  /** resolves when the server closed the connection */
  closed: Promise<void>;
}

function parse(data: Buffer): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const body = data.subarray(end + 4);
  const length = Number(headers['content-length'] ?? NaN);
  if (Number.isFinite(length) && body.length < length) return undefined;
  return { status: Number(statusLine!.split(' ')[1]), headers, body: body.toString('utf8') };
}

/** Sends `chunks` (and keeps the connection open unless `end`); the caller destroys the socket. */
export function rawRequest(port: number, chunks: Array<string | Buffer>, opts: { end?: boolean } = {}): RawExchange {
  const socket = connect(port, '127.0.0.1');
  let data = Buffer.alloc(0);
  const closed = new Promise<void>((ok) => socket.once('close', () => ok()));
  const response = new Promise<RawResponse>((resolve, reject) => {
    socket.on('data', (d: Buffer) => {
      data = Buffer.concat([data, d]);
      const r = parse(data);
      if (r) resolve(r);
    });
    socket.on('error', () => undefined); // a reset after the answer is what some tests expect
    void closed.then(() => {
      const r = parse(data);
      if (r) resolve(r);
      else reject(new Error(`the server closed the connection without an answer (${data.length} bytes)`));
    });
  });
  socket.once('connect', () => {
    for (const c of chunks) socket.write(c);
    if (opts.end) socket.end();
  });
  return { socket, response, closed };
}

export type FormPart = { name: string; value: string } | { name: string; filename: string; data: Buffer };

/** A multipart/form-data body; `close: false` leaves out the closing boundary (a truncated body). */
export function multipartBody(parts: FormPart[], boundary: string, opts: { close?: boolean } = {}): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition =
      'filename' in p
        ? `form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: application/zip`
        : `form-data; name="${p.name}"`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`));
    chunks.push('filename' in p ? p.data : Buffer.from(p.value), Buffer.from('\r\n'));
  }
  if (opts.close !== false) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** The head of a POST to `path` with the given content type and declared length. */
export function postHead(path: string, contentType: string, contentLength: number): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nContent-Length: ${contentLength}\r\n\r\n`;
}
