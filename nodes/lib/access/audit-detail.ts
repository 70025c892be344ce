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

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(URL_CREDENTIALS, '$1(hidden)@');
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) return value.slice(0, 20).map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? '(hidden)' : scrub(v, depth + 1);
  return out;
}

/** The request's body and query, secrets hidden, at most MAX_DETAIL characters; '' when both are empty. */
export function auditDetail(body: unknown, query: Record<string, unknown> = {}): string {
  const parts: string[] = [];
  const hasBody =
    body !== undefined && body !== null && !(typeof body === 'object' && Object.keys(body).length === 0) && !Buffer.isBuffer(body);
  if (hasBody) parts.push(JSON.stringify(scrub(body, 0)));
  if (Buffer.isBuffer(body) && body.length > 0) parts.push(`${body.length} bytes`);
  if (Object.keys(query).length > 0) parts.push(`query ${JSON.stringify(scrub(query, 0))}`);
  const text = parts.join('; ');
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL - 1)}…` : text;
}
