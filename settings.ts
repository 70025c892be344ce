/**
 * Node-RED settings for the role in PICAM_ROLE (demo | cloud | pi), built from
 * environment variables by cli/runtime/roles.ts. `picam-guardian start` uses the same
 * function; this file lets a stock Node-RED run a role too:
 *   PICAM_ROLE=cloud node-red --settings node_modules/picam-guardian/dist/settings.js
 */
import { applyFlowEnv, settingsFor } from './cli/runtime/roles';

const role = settingsFor(process.env);
if (role.problems.length > 0) {
  throw new Error(`PiCam Guardian ${role.role} settings:\n  - ${role.problems.join('\n  - ')}`);
}
applyFlowEnv(role);

export default role.node;
