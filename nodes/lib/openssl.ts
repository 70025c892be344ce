/**
 * The one way we run the `openssl` command-line tool: spawned with an argument
 * array (no shell), its output collected, its error text in the thrown Error.
 * `picam-guardian certs` makes the CA with it; the camera certificate authority
 * (nodes/lib/camera-certs) issues per-camera certificates and the CRL with it.
 * Arguments never carry a key: keys go through files (mode 0600) or stdin.
 */
import { spawn } from 'node:child_process';

export function runOpenssl(openssl: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let child;
    try {
      child = spawn(openssl, args, { stdio: 'pipe' });
    } catch (err) {
      reject(err as Error); // spawn() throws only Errors (bad arguments)
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new Error(`${openssl} not found: install OpenSSL (Debian: sudo apt install openssl)`) : e),
    );
    child.on('close', (code) => {
      if (code === 0) resolvePromise(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`openssl ${args[0]} failed (exit ${code}): ${Buffer.concat(err).toString('utf8').trim()}`));
    });
    child.stdin.on('error', () => undefined); // openssl may exit before reading: its exit code says why
    child.stdin.end(input ?? '');
  });
}
