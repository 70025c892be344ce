/**
 * The test helper keeps the runtime's httpNode app (where nodes mount routes such as
 * /api/media) off its server: a module that registers no node hands it over, and a
 * server of our own serves it.
 */
import { after } from 'node:test';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function httpNodeServer(root: string) {
  let httpNode: RequestListener | undefined;
  let server: Server | undefined;
  after(() => server?.close());
  return {
    /** load this beside the nodes under test */
    expose: (RED: { httpNode: RequestListener }) => void (httpNode = RED.httpNode),
    /** `root` + `path` through the runtime's httpNode (GET unless `init` says otherwise) */
    async fetch(path: string, init?: RequestInit): Promise<Response> {
      if (!server) {
        server = createServer((req, res) => httpNode!(req, res));
        await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
      }
      const { port } = server.address() as AddressInfo;
      return fetch(`http://127.0.0.1:${port}${root}${path}`, init);
    },
  };
}
