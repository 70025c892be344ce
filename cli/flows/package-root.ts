/**
 * Where the package is installed: the flow-file reader, the role settings, deploy
 * and the runtime all ask. Its own module so that the flow-file reader need not
 * import the role settings (which import it back, through broker-choice).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package's own folder (holds package.json, flows/, dist/), from source or build. */
export function packageRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
  return dir;
}
