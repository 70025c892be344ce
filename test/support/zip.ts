/** ZIP archives written byte by byte, so tests can make the hostile ones no zip tool would. */
import zlib from 'node:zlib';

export type RawEntry = {
  name: string;
  data: Buffer;
  deflate?: boolean;
  /** override the declared uncompressed size */
  declaredSize?: number;
  /** Unix mode for the external attributes */
  mode?: number;
  /** the name's bytes as stored (instead of `name` in UTF-8) */
  rawName?: Buffer;
  /** general purpose bit 11, "the name is UTF-8" (default on); off, readers decode CP437 */
  utf8Flag?: boolean;
};

/** Writes a ZIP by hand: local headers, central directory, end record. */
export function rawZip(entries: RawEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = e.rawName ?? Buffer.from(e.name, 'utf8');
    const flags = e.utf8Flag === false ? 0 : 0x800;
    const body = e.deflate ? zlib.deflateRawSync(e.data) : e.data;
    const method = e.deflate ? 8 : 0;
    const crc = zlib.crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((e.mode ?? 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** POSTs a ZIP of `entries` to a gateway's /hivecam/upload the way a VBC01 camera does (multipart). */
export function uploadToGateway(gatewayUrl: string, cameraId: string, eventId: string, entries: RawEntry[]): Promise<Response> {
  const form = new FormData();
  form.append('camera_id', cameraId);
  form.append('event_id', eventId);
  form.append('file', new Blob([new Uint8Array(rawZip(entries))], { type: 'application/zip' }), 'upload.zip');
  return fetch(`${gatewayUrl}/hivecam/upload`, { method: 'POST', body: form });
}
