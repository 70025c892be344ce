/**
 * Mounts a node's routes (media, push, access, live video) on the runtime's HTTP API (so they
 * sit behind its login) and takes them off again on redeploy: Node-RED has no unmount, so the
 * router's layer is removed from express's stack, as its own http-in node does.
 */
import type { NodeAPI } from 'node-red';
import express, { type Router } from 'express';

interface RouterStack {
  _router?: { stack: Array<{ handle: unknown }> };
}

export function mountRouter(RED: NodeAPI, path: string, router: Router): () => void {
  const app = RED.httpNode as unknown as { use(path: string, router: Router): void } & RouterStack;
  app.use(path, router);
  return () => {
    const stack = app._router?.stack;
    const i = stack?.findIndex((layer) => layer.handle === router) ?? -1;
    if (stack && i >= 0) stack.splice(i, 1);
  };
}

/**
 * A router for a node's API routes. Its paths have one spelling, as the route table's have: an
 * Express router matches any letter case by default, and `/API/Recordings/x/VIDEO` would reach a
 * handler past the guard's role and camera checks, which look the route up as spelled.
 */
export function apiRouter(opts: { strict?: boolean } = {}): Router {
  return express.Router({ caseSensitive: true, strict: opts.strict ?? false });
}
