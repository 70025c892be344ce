#!/usr/bin/env node
/**
 * picam-guardian start [--role demo|cloud|pi|cluster]   run Node-RED with the role's flow
 *                      [--flows a.json,b.json]  ...or these flows (installed on first start)
 * picam-guardian simulate [--url mqtt://...]    publish simulated device traffic
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEMO_RECORD_UDP, settingsFor, type Role } from './runtime/roles';
import { startRuntime } from './runtime/runtime';
import { certsCli } from './commands/certs';
import { DEPLOY_USAGE, deployCli } from './deploy/deploy-cli';
import { hashPasswordCli } from './commands/hash-password';
import { fillStoreCli } from './commands/fill-store';
import { startDemoMediamtx, type DemoMediamtx } from './runtime/demo-mediamtx';
import { freeUdpPort, startRtspSink } from './runtime/rtsp-sink';
import { demoIpcamLogin, demoIpcamRecordSource, gstRtspPython, startDemoIpcam, type DemoIpcam } from './runtime/demo-ipcam';
import { cameraCli } from './commands/camera-provision';
import { API_PATHS, API_ROOT, apiUrl } from '../nodes/lib/contract/api-routes';
import { newCameraId, startSimulator } from './commands/simulator';
import { redactText } from '../nodes/lib/redact';

const USAGE = `usage:
  picam-guardian start [--role demo|cloud|pi|cluster] [--flows file.json[,file.json]]
  picam-guardian simulate [--url mqtt://127.0.0.1:1883] [--cameras 3] [--pis 1] [--pace 1]
                          [--gateway http://127.0.0.1:8080 --camera-ids ID,ID]   (uploads to a VBC01 gateway)
  picam-guardian certs [--dir data/certs] [--host NAME]... [--force | --renew]   (see --help)
  picam-guardian camera provision <server LAN IP> [--port 80] [--dir data/certs] [--out DIR]   files and steps for a VBC01 camera
  picam-guardian hash-password [--password-stdin]   bcrypt hash for PICAM_*_PASSWORD_HASH
  picam-guardian fill-store --file FILE [--devices 600] [--events 5000000] [--readings 30000000] [--days 365] [--append]
                                                    a fleet's history in a store, to size hardware (see --help)
${DEPLOY_USAGE}
Environment variables are listed in README.md.`;

async function main(argv: string[]): Promise<void> {
  // The certificates command has its own flags (cli/commands/certs.ts).
  if (argv[0] === 'certs') {
    process.exitCode = await certsCli(argv.slice(1), (l) => console.log(l));
    return;
  }
  if (argv[0] === 'camera') {
    process.exitCode = await cameraCli(argv.slice(1), (l) => console.log(l));
    return;
  }
  if (argv[0] === 'hash-password') {
    process.exitCode = await hashPasswordCli(argv.slice(1), (l) => console.log(l));
    return;
  }
  if (argv[0] === 'fill-store') {
    process.exitCode = await fillStoreCli(argv.slice(1), (l) => console.log(l));
    return;
  }
  // So do the flow deployment commands (cli/deploy/deploy.ts, docs/deploy.md).
  if (argv[0] === 'deploy' || argv[0] === 'rollback' || argv[0] === 'pull' || argv[0] === 'format-flows') {
    process.exitCode = await deployCli(argv);
    return;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      role: { type: 'string' },
      flows: { type: 'string' },
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      cameras: { type: 'string', default: '3' },
      pis: { type: 'string', default: '1' },
      pace: { type: 'string', default: '1' },
      gateway: { type: 'string' },
      'camera-ids': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  if (command === 'simulate') {
    const sim = await startSimulator({
      url: values.url!,
      username: process.env.MQTT_USERNAME,
      password: process.env.MQTT_PASSWORD,
      cameras: Number(values.cameras),
      pis: Number(values.pis),
      pace: Number(values.pace),
      gatewayUrl: values.gateway,
      cameraIds: values['camera-ids']?.split(',').filter(Boolean),
      log: (l) => console.log(l),
    });
    console.log(`simulating ${sim.devices.length} devices against ${values.url}; Ctrl-C stops`);
    onExit(() => sim.stop());
    return;
  }
  if (command !== 'start') throw new Error(`unknown command "${command}"\n${USAGE}`);

  const env: NodeJS.ProcessEnv = { ...process.env, PICAM_ROLE: (values.role as Role | undefined) ?? process.env.PICAM_ROLE ?? 'demo' };
  let mediamtx: DemoMediamtx | undefined;
  if (env.PICAM_ROLE === 'demo') {
    mediamtx = startDemoMediamtx(env, env.PICAM_DEVICE_ID ?? 'picam-1');
    if (mediamtx.apiUrl) env.MEDIAMTX_API_URL = mediamtx.apiUrl;
    if (mediamtx.rtspUrl && !env.PICAM_RTSP_URL) env.PICAM_RTSP_URL = mediamtx.rtspUrl;
    // The dashboard's live video from the demo's own MediaMTX (its MJPEG preview when that fails).
    if (mediamtx.rtspUrl && !env.PICAM_WEBRTC_URL) env.PICAM_WEBRTC_URL = 'http://127.0.0.1:8889';
  }
  // The demo's simulated VBC01 cameras are registered at the gateway, so their uploads are taken.
  const simCameras = env.PICAM_ROLE === 'demo' ? [newCameraId(), newCameraId(), newCameraId()] : [];
  if (simCameras.length) env.PICAM_CAMERAS = [env.PICAM_CAMERAS, ...simCameras].filter(Boolean).join(',');
  // The demo IP camera's login is made here, so the recorder can record it too (events mode).
  const ipcamLogin = demoIpcamLogin();
  // The demo's test patterns move all the time: their motion events never end, so each clip is cut
  // at the longest length. 30 s instead of 300, so a newcomer sees a clip within a minute.
  if (env.PICAM_ROLE === 'demo') env.PICAM_RECORD_MAX_CLIP_SECONDS ??= '30';
  if (env.PICAM_ROLE === 'demo' && env.PICAM_RECORD_SOURCES === undefined) {
    // The sink's copy of the Pi camera goes to a free port: two demos (or a demo beside the
    // tests) on one machine must not read each other's video.
    const udp = `udp://127.0.0.1:${await freeUdpPort()}`;
    const pi = settingsFor(env).flowEnv.PICAM_RECORD_SOURCES!.replace(DEMO_RECORD_UDP, udp);
    const ipcam = gstRtspPython() ? demoIpcamRecordSource(env, ipcamLogin) : '';
    env.PICAM_RECORD_SOURCES = [pi, ipcam].filter(Boolean).join(',');
  }
  // The Pi's own recording (the pi role, or the demo told to): a free port for its copy of the camera, as above,
  // so two runtimes on one machine (tests, a demo beside a Pi runtime) never read each other's video.
  const piRecords = env.PICAM_ROLE === 'pi' ? env.PICAM_PI_RECORD !== 'off' : env.PICAM_ROLE === 'demo' && env.PICAM_PI_RECORD === 'on';
  if (piRecords && !env.PICAM_PI_RECORD_UDP) env.PICAM_PI_RECORD_UDP = `udp://127.0.0.1:${await freeUdpPort()}`;
  const role = settingsFor(env);
  const runtime = await startRuntime(
    role,
    values.flows?.split(',').map((f) => resolve(f)),
  );
  let stopSim: (() => Promise<void>) | undefined;
  let stopSink: (() => Promise<void>) | undefined;
  let ipcam: DemoIpcam | undefined;
  if (role.role === 'demo') {
    // An ordinary IP camera beside the simulated devices, added through the API as a user adds one.
    ipcam = startDemoIpcam(env, ipcamLogin);
    // The Pi flow's camera publishes here; its relay retries with backoff until the sink listens.
    const sink = mediamtx?.rtspUrl
      ? { describe: `${role.flowEnv.PICAM_RTSP_URL} (MediaMTX)`, stop: async () => undefined }
      : startRtspSink(
          role.flowEnv.PICAM_RTSP_URL!,
          resolve(String(role.node.userDir), 'hls'),
          (l) => console.log(l),
          // The recorder reads the Pi camera from the sink when it records it (roles.ts DEMO_RECORD_UDP).
          /udp:\/\/127\.0\.0\.1:\d+/.exec(role.flowEnv.PICAM_RECORD_SOURCES ?? '')?.[0],
        );
    stopSink = sink.stop;
    // The Pi is the real Pi flow (with a simulated Sense HAT): the simulator plays only the VBC01 cameras.
    const sim = await startSimulator({
      url: `mqtt://127.0.0.1:${role.flowEnv.PICAM_MQTT_PORT}`,
      pace: Number(values.pace),
      pis: 0,
      cameraIds: simCameras,
      gatewayUrl: `http://127.0.0.1:${role.flowEnv.PICAM_GATEWAY_PORT}`,
      log: (l) => /upload|stream|re-encoding/.test(l) && console.log(l),
    });
    stopSim = sim.stop;
    console.log(`
PiCam Guardian demo is running
  dashboard         ${runtime.dashboardUrl}
  editor            ${runtime.adminUrl}
  cameras (API)     ${runtime.url}${API_PATHS.cameras}
  events (API)      ${runtime.url}${API_PATHS.events}
  sensors (API)     ${runtime.url}${apiUrl(API_PATHS.sensors, { deviceId: role.flowEnv.PICAM_DEVICE_ID ?? '' })}  (the Pi flow, simulated Sense HAT, every 2 s)
  camera stream     ${sink.describe}
  camera preview    ${runtime.url}${role.flowEnv.PICAM_PREVIEW_PATH}  (MJPEG)
  stream health     ${mediamtx?.describe}
  camera gateway    http://127.0.0.1:${role.flowEnv.PICAM_GATEWAY_PORT}/hivecam/{camera_id}  (VBC01 config, certificates, uploads)
  MQTT broker       mqtt://127.0.0.1:${role.flowEnv.PICAM_MQTT_PORT}  (WebSocket ws://127.0.0.1:${role.flowEnv.PICAM_MQTT_WS_PORT})
  database          ${role.flowEnv.PICAM_DB_URL ? redactText(role.flowEnv.PICAM_DB_URL) : role.flowEnv.PICAM_DB_FILE}
  IP camera         ${ipcam.describe}
  simulated devices ${sim.devices.map((d) => `${d.name} (${d.type} ${d.id})`).join(', ')}
Ctrl-C stops everything.`);
    void ipcam.add(runtime.url).then((line) => line && console.log(line));
  } else {
    const page = runtime.dashboardUrl ? `dashboard ${runtime.dashboardUrl}, ` : '';
    console.log(`PiCam Guardian ${role.role} runtime: ${page}editor ${runtime.adminUrl}, API ${runtime.url}${API_ROOT}`);
    if (runtime.internalUrl) console.log(`MediaMTX auth hook (this machine only): ${runtime.internalUrl}/mediamtx/auth`);
  }
  onExit(async () => {
    await stopSim?.();
    await stopSink?.();
    await mediamtx?.stop();
    await runtime.stop();
    // After the runtime: its ipcam node stops pulling first, instead of retrying a camera that went away.
    await ipcam?.stop();
  });
}

function onExit(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping`);
    stop().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(err.message);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
