/**
 * What a node that uses the database sees of the `picam-database` config node. Here, beside
 * the store, so that shared code (nodes/lib/alerts) can name it without importing a node folder.
 */
import type { Node } from 'node-red';
import type { DatabaseProvider } from '../database-user';
import type { EventStore } from './store';

export interface PicamDatabaseNode extends Node, DatabaseProvider<EventStore> {
  acquire(user: Node): Promise<EventStore>;
  release(user: Node): Promise<void>;
}
