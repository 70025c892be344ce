/**
 * The one way to hide the login of a URL in anything we show: logs, statuses, errors, the
 * editor. Camera URLs (`rtsp://user:pass@cam/...`) and database URLs
 * (`postgres://user:pass@db/...`) alike.
 */

/**
 * Hides the login part of every URL in a text: `rtsp://admin:pw@cam/live` → `rtsp://***@cam/live`.
 * The login runs to the last `@` before a space: a password with an unencoded `/`, `:` or `@`
 * (`pa/ss`, which URL parsers refuse) is hidden whole too. A URL without a login but with an `@`
 * later in its path loses its host instead: hiding too much is the safe way to be wrong.
 */
export function redactText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s@]*@/gi, '$1***@');
}
