/**
 * The cameras added through the API as the database keeps them: their login
 * (username and password) sealed with the runtime's credential secret
 * (nodes/lib/secret-box.ts), opened again when the node loads them.
 */
import { isSealed, type SecretBox } from '../lib/secret-box';
import type { IpCameraRow, IpCameraStore } from '../lib/store/ip-cameras';
import { NO_SECRET_FOR_LOGIN, type CameraStorage } from './api';
import { readCameraSpec, type CameraSpec } from './camera-spec';

export const hasLogin = (spec: Pick<CameraSpec, 'username' | 'password'>): boolean => spec.username !== '' || spec.password !== '';

/** What the API stores through: logins sealed, refused (before anything is written) when they cannot be. */
export function sealedStorage(store: IpCameraStore, box: SecretBox): CameraStorage {
  return {
    canStoreLogin: box.canSeal,
    put: async (s) => {
      if (hasLogin(s) && !box.canSeal) throw new Error(NO_SECRET_FOR_LOGIN);
      await store.put({ ...s, username: box.seal(s.username), password: box.seal(s.password) });
    },
    remove: async (id) => void (await store.remove(id)),
    setMode: async (id, mode) => void (await store.setMode(id, mode)),
  };
}

export interface StoredCamera {
  spec: CameraSpec;
  /** its login was stored in plain text (before sealing): write it again to seal it */
  plain: boolean;
}

/** A stored row as a camera; throws (SecretBoxError, SpecError) when its login does not open or it is not valid. */
export function openStored(row: IpCameraRow, box: SecretBox): StoredCamera {
  const plain = (row.username !== '' && !isSealed(row.username)) || (row.password !== '' && !isSealed(row.password));
  const spec = readCameraSpec({ ...row, username: box.open(row.username), password: box.open(row.password) });
  return { spec, plain };
}
