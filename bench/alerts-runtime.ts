/**
 * The cloud runtime for the alert case (bench/alerts.ts), in its own process:
 * flows/cloud.json with its embedded broker, Telegram configured through the
 * environment the parent sets (TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT,
 * TELEGRAM_CHAT_IDS, PICAM_TIME_ZONE), as an installer would.
 *
 * Like runtime-child.ts, but the Telegram variables pass through, and the
 * hook watches the telegram-alert node's input instead of the store: it notes
 * when each activity alert reached the node, for the breakdown.
 *
 * IPC: {cmd:'report'} → {arrivals: [{deviceId, atMs}]}; {cmd:'stop'}.
 */
import { applyFlowEnv, settingsFor } from '../cli/runtime/roles';
import { startRuntime } from '../cli/runtime/runtime';

interface Args {
  flowFile: string;
  dataDir: string;
  dbFile: string;
  httpPort: number;
  mqttPort: number;
  wsPort: number;
  /** the telegram-alert node's id */
  alertNode: string;
}

const args = JSON.parse(process.argv[2]!) as Args;
const arrivals: Array<{ deviceId: string; atMs: number }> = [];

async function main() {
  const env = process.env;
  const role = settingsFor({
    PICAM_ROLE: 'demo',
    PICAM_DATA_DIR: args.dataDir,
    PICAM_DB_FILE: args.dbFile,
    PICAM_HTTP_PORT: String(args.httpPort),
    PICAM_MQTT_PORT: String(args.mqttPort),
    PICAM_MQTT_WS_PORT: String(args.wsPort),
    PICAM_GATEWAY_PORT: '0', // not measured here; the OS picks a free port
    PICAM_LOG_LEVEL: 'warn',
    PICAM_TIME_ZONE: env.PICAM_TIME_ZONE,
    TELEGRAM_BOT_TOKEN: env.TELEGRAM_BOT_TOKEN,
    TELEGRAM_API_ROOT: env.TELEGRAM_API_ROOT,
    TELEGRAM_CHAT_IDS: env.TELEGRAM_CHAT_IDS,
  });
  applyFlowEnv(role, true);
  const runtime = await startRuntime(role, [args.flowFile]);
  runtime.hooks.add('onReceive.bench', (e: { destination: { id: string }; msg: { payload?: { kind?: string; deviceId?: string } } }) => {
    const p = e.msg.payload;
    if (e.destination.id === args.alertNode && p?.kind === 'activity' && typeof p.deviceId === 'string') {
      arrivals.push({ deviceId: p.deviceId, atMs: Date.now() });
    }
  });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'report') process.send!({ arrivals });
    else if (m.cmd === 'stop') void runtime.stop().then(() => process.exit(0));
  });
  process.send!({ ready: true });
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
