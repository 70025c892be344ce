/**
 * Request decoding for the fake Telegram server (test/support/fake-telegram.ts).
 *
 * The Bot API takes its parameters from the query string and from a body in any of
 * three encodings. node-telegram-bot-api v2 never sends JSON: without a file it posts
 * application/x-www-form-urlencoded, with any file a hand-rolled multipart/form-data
 * body (dist/core/encode.js, multipart.js). Either way every value is a string, and every
 * object (reply_parameters, reply_markup, media, ...) is a JSON string; an InputFile
 * nested in an object becomes "attach://media_<i>" there plus a file part media_<i>
 * (dist/core/serialize.js). JSON bodies are parsed too because other clients send them.
 */

export interface UploadedFile {
  filename?: string;
  contentType?: string;
  bytes: Buffer;
}

export interface ParsedBody {
  /** form fields are strings; a JSON body keeps its own types */
  fields: Record<string, unknown>;
  files: Record<string, UploadedFile>;
}

// Fields whose value is an object, sent as a JSON string in a form.
const JSON_FIELDS = [
  'reply_parameters',
  'reply_markup',
  'media',
  'entities',
  'caption_entities',
  'link_preview_options',
  'commands',
  'allowed_updates',
];
const INT_FIELDS = ['chat_id', 'message_id', 'offset', 'limit', 'timeout', 'reply_to_message_id', 'duration', 'cache_time'];
const BOOL_FIELDS = [
  'disable_notification',
  'protect_content',
  'drop_pending_updates',
  'show_caption_above_media',
  'has_spoiler',
  'supports_streaming',
  'show_alert',
];

/**
 * Telegram reads each field as its documented type: JSON fields parsed (left a string
 * when invalid, for the method to refuse), integers as numbers, flags as booleans.
 */
export function typedParams(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v;
    if (typeof v !== 'string') continue; // a JSON body is typed already
    if (JSON_FIELDS.includes(k)) {
      try {
        out[k] = JSON.parse(v);
      } catch {
        // stays a string
      }
    } else if (INT_FIELDS.includes(k) && /^\s*-?\d+\s*$/.test(v)) out[k] = Number(v);
    else if (BOOL_FIELDS.includes(k)) out[k] = v.toLowerCase() === 'true' || v === '1'; // tdlib's to_bool
  }
  return out;
}

export class BodyError extends Error {}

export function parseRequestBody(contentType: string | undefined, body: Buffer, query: URLSearchParams): ParsedBody {
  const fields: Record<string, unknown> = Object.fromEntries(query);
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (body.length === 0) return { fields, files: {} };
  if (type === 'application/json') {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new BodyError('invalid JSON body');
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new BodyError('JSON body is not an object');
    return { fields: { ...fields, ...(json as Record<string, unknown>) }, files: {} };
  }
  if (type === 'application/x-www-form-urlencoded') {
    return { fields: { ...fields, ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))) }, files: {} };
  }
  if (type === 'multipart/form-data') {
    const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
    if (!boundary) throw new BodyError('multipart body without a boundary');
    const parts = parseMultipart(body, boundary[1] ?? boundary[2]!);
    return { fields: { ...fields, ...parts.fields }, files: parts.files };
  }
  throw new BodyError(`unsupported content-type "${contentType ?? ''}"`);
}

/**
 * RFC 7578 multipart/form-data. A part with a `filename` parameter is a file (kept
 * as bytes, never decoded); any other part is a UTF-8 text field. The library escapes
 * `"`, CR and LF in names as %22, %0D, %0A (the WHATWG rule); those are undone here.
 */
export function parseMultipart(body: Buffer, boundary: string): ParsedBody {
  const fields: Record<string, unknown> = {};
  const files: Record<string, UploadedFile> = {};
  const delimiter = Buffer.from(`--${boundary}`);
  // Every delimiter after the first is preceded by CRLF, which belongs to the delimiter, not to the part.
  const next = Buffer.from(`\r\n--${boundary}`);
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new BodyError('multipart body without its boundary');
  pos += delimiter.length;
  for (;;) {
    if (body.subarray(pos, pos + 2).toString() === '--') return { fields, files }; // closing delimiter
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') throw new BodyError('malformed multipart delimiter');
    const headerEnd = body.indexOf('\r\n\r\n', pos + 2);
    if (headerEnd < 0) throw new BodyError('multipart part without a header end');
    const headers = parseHeaders(body.subarray(pos + 2, headerEnd).toString('utf8'));
    const end = body.indexOf(next, headerEnd + 4);
    if (end < 0) throw new BodyError('multipart body is truncated');
    const content = body.subarray(headerEnd + 4, end);
    const disposition = headers.get('content-disposition') ?? '';
    const params = dispositionParams(disposition);
    const name = params.get('name');
    if (!/^form-data\b/i.test(disposition) || name === undefined) throw new BodyError('multipart part without a form-data name');
    const filename = params.get('filename');
    if (filename !== undefined) {
      files[name] = { filename, contentType: headers.get('content-type'), bytes: Buffer.from(content) };
    } else {
      fields[name] = content.toString('utf8');
    }
    pos = end + next.length;
  }
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function dispositionParams(disposition: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const m of disposition.matchAll(/;\s*([^=;\s]+)\s*=\s*(?:"([^"]*)"|([^;]*))/g)) {
    const raw = m[2] ?? m[3]!.trim();
    params.set(m[1]!.toLowerCase(), raw.replace(/%22/g, '"').replace(/%0D/g, '\r').replace(/%0A/g, '\n'));
  }
  return params;
}
