/**
 * What the audit keeps of a request: its body and query as short JSON, with every secret left
 * out (passwords, tokens, keys, codes by field name; credentials inside URLs such as
 * rtsp://user:pass@host). The audit shows what changed, never how to log in somewhere.
 */

/** Field names whose values are never kept. */
const SECRET_FIELD = /pass|secret|token|key|credential|auth|hash|code|cookie|private/i;
/** `scheme://user:password@` inside a string */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi;
const MAX_DETAIL = 500;
const MAX_DEPTH = 4;
/** Fields, items and characters kept of each value: what is kept is short, and so is the work (a body may be megabytes). */
const MAX_ITEMS = 20;
const MAX_CHARS = MAX_DETAIL;

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.slice(0, MAX_CHARS).replace(URL_CREDENTIALS, '$1(hidden)@');
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  let kept = 0;
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue;
    if (kept++ === MAX_ITEMS) break;
    out[k] = SECRET_FIELD.test(k) ? '(hidden)' : scrub((value as Record<string, unknown>)[k], depth + 1);
  }
  return out;
}

const isEmpty = (value: object): boolean => {
  for (const k in value) if (Object.hasOwn(value, k)) return false;
  return true;
};

/** The request's body and query, secrets hidden, at most MAX_DETAIL characters; '' when both are empty. */
export function auditDetail(body: unknown, query: Record<string, unknown> = {}): string {
  const parts: string[] = [];
  // Bytes first: a Buffer is an object whose every byte is a key, and walking them took seconds (and a crash at 150 MB).
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
    if (body.length > 0) parts.push(`${body.length} bytes`);
  } else if (body !== undefined && body !== null && !(typeof body === 'object' && isEmpty(body))) {
    parts.push(JSON.stringify(scrub(body, 0)));
  }
  if (!isEmpty(query)) parts.push(`query ${JSON.stringify(scrub(query, 0))}`);
  const text = parts.join('; ');
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text;
}
