/**
 * Config node for one MediaMTX server: its API URL and the login the health
 * poller uses (MediaMTX's `api` permission; with `authMethod: http` the cloud
 * runtime's PICAM_MEDIAMTX_MONITOR user). Without a URL, stream health is off.
 */
import type { NodeAPI, NodeDef } from 'node-red';
import { MediamtxClient } from '../lib/mediamtx/client';
import type { MediamtxServerNode } from '../lib/mediamtx/server-node';
import { numberSetting, type NodeConstructor } from '../lib/node-config';

interface MediamtxServerDef extends NodeDef {
  apiUrl: string;
  timeoutSeconds: string | number;
}

export default function register(RED: NodeAPI): void {
  function MediamtxServer(this: MediamtxServerNode & { credentials?: { user?: string; password?: string } }, def: MediamtxServerDef) {
    RED.nodes.createNode(this, def);
    this.apiUrl = (def.apiUrl ?? '').trim().replace(/\/+$/, '');
    if (!this.apiUrl) {
      this.problem = 'no MediaMTX API URL (set MEDIAMTX_API_URL)';
      return;
    }
    try {
      const url = new URL(this.apiUrl);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      this.problem = `not an http(s) URL: ${this.apiUrl}`;
      return;
    }
    // MediaMTX delays its answer to wrong credentials by up to 4 s: a shorter time-out would misname them.
    this.client = new MediamtxClient({
      apiUrl: this.apiUrl,
      username: this.credentials?.user || undefined,
      password: this.credentials?.password || undefined,
      timeoutMs: Math.max(5, numberSetting(def.timeoutSeconds, 6)) * 1000,
    });
  }
  RED.nodes.registerType('mediamtx-server', MediamtxServer as unknown as NodeConstructor, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
}
