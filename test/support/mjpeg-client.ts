/**
 * An HTTP client for an MJPEG stream (multipart/x-mixed-replace): reads the
 * parts by their Content-Length, as a browser's <img> does, and keeps the JPEGs.
 */
import { get, type ClientRequest, type IncomingMessage } from 'node:http';

export class MjpegClient {
  readonly frames: Buffer[] = [];
  status = 0;
  contentType = '';
  body = '';
  private req?: ClientRequest;
  private buf = Buffer.alloc(0);

  /** Connects; resolves with the status once the headers are in. */
  open(url: string, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      this.req = get(url, { headers }, (res: IncomingMessage) => {
        this.status = res.statusCode ?? 0;
        this.contentType = String(res.headers['content-type'] ?? '');
        res.on('data', (d: Buffer) => (this.status === 200 ? this.push(d) : (this.body += d.toString())));
        res.on('error', () => undefined);
        resolve(this.status);
      });
      this.req.on('error', reject);
    });
  }

  close(): void {
    this.req?.destroy();
  }

  private push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      const headEnd = this.buf.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = this.buf.subarray(0, headEnd).toString();
      const m = /Content-Length:\s*(\d+)/i.exec(head);
      if (!m) return;
      const len = Number(m[1]);
      if (this.buf.length < headEnd + 4 + len) return;
      this.frames.push(Buffer.from(this.buf.subarray(headEnd + 4, headEnd + 4 + len)));
      this.buf = this.buf.subarray(headEnd + 4 + len + 2);
    }
  }
}
