/**
 * What a node that talks to MediaMTX (mediamtx-health, ipcam) sees of the `mediamtx-server`
 * config node. Here, beside the client, so that those nodes can name it without importing the
 * config node's folder (as nodes/lib/store/database-node.ts does for the database).
 */
import type { Node } from 'node-red';
import type { MediamtxClient } from './client';

export interface MediamtxServerNode extends Node {
  /** undefined when no API URL is set */
  client?: MediamtxClient;
  apiUrl: string;
  /** why there is no client */
  problem?: string;
}
