import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { selectBroker } from '../../../cli/flows/broker-choice';
import { checkFlow, type FlowNode } from '../../../cli/flows/flow-file';
import { settingsFor } from '../../../cli/runtime/roles';

const SECRETS = {
  MQTT_USERNAME: 'devices',
  MQTT_PASSWORD: 'pw',
  PICAM_CREDENTIAL_SECRET: 'secret',
  PICAM_ADMIN_USER: 'admin',
  PICAM_ADMIN_PASSWORD_HASH: '$2b$08$hash',
  PICAM_API_USER: 'viewer',
  PICAM_API_PASSWORD_HASH: '$2b$08$hash2',
};

describe('roles: Node-RED settings from the environment', () => {
  it('demo: local only, editor at /, no logins, data in data/demo', () => {
    const r = settingsFor({});
    assert.equal(r.role, 'demo');
    assert.deepEqual(r.problems, []);
    assert.equal(r.node.uiHost, '127.0.0.1');
    assert.equal(r.node.uiPort, 1880);
    assert.equal(r.node.httpAdminRoot, '/');
    assert.equal(r.node.adminAuth, undefined);
    assert.match(String(r.node.userDir), /data\/demo$/);
    assert.equal(r.flowEnv.PICAM_MQTT_PORT, '1883');
    assert.equal(r.flowEnv.PICAM_MQTT_WS_PORT, '9001');
    assert.equal(r.flowEnv.PICAM_DEVICE_TOPIC, 'prod/device/#');
  });

  it("demo without MediaMTX: the Pi camera's live view is the runtime's own copy of the RTSP sink's RTP; with MediaMTX or on a server, none", () => {
    const demo = settingsFor({ PICAM_DATA_DIR: '/tmp/picam-demo' });
    assert.equal(demo.flowEnv.PICAM_LIVE_RTSP_SOURCES, 'picam-1=/tmp/picam-demo/hls/picam-1.sdp');
    assert.deepEqual(demo.dashboard.runtimeLive, ['picam-1'], 'the dashboard plays it through /api/live');
    assert.deepEqual([demo.flowEnv.PICAM_LIVE_RTSP_USER, demo.flowEnv.PICAM_LIVE_RTSP_PASSWORD], ['', '']);
    // The demo's MediaMTX serves it (PICAM_WEBRTC_URL), as in production; a remote RTSP server is not the sink.
    assert.equal(settingsFor({ PICAM_WEBRTC_URL: 'http://127.0.0.1:8889' }).flowEnv.PICAM_LIVE_RTSP_SOURCES, '');
    assert.equal(settingsFor({ PICAM_RTSP_URL: 'rtsp://cams.example.org:8554/picam-1' }).flowEnv.PICAM_LIVE_RTSP_SOURCES, '');
    const cloud = settingsFor({ PICAM_ROLE: 'cloud', ...SECRETS });
    assert.equal(cloud.flowEnv.PICAM_LIVE_RTSP_SOURCES, '');
    assert.deepEqual(cloud.dashboard.runtimeLive, []);
    const named = settingsFor({ PICAM_ROLE: 'cloud', ...SECRETS, PICAM_LIVE_RTSP_SOURCES: 'gate=rtsp://u:pw@10.0.0.5/main' });
    assert.deepEqual(named.dashboard.runtimeLive, ['gate'], 'ids only reach the dashboard');
    assert.ok(!JSON.stringify(named.dashboard).includes('pw@'));
  });

  it("a server's live view takes browsers' WebRTC media on the ports its firewall opens; the demo on any", () => {
    assert.equal(settingsFor({ PICAM_ROLE: 'cloud', ...SECRETS }).flowEnv.PICAM_LIVE_ICE_PORTS, '5100-5199');
    assert.equal(settingsFor({ PICAM_ROLE: 'cloud', ...SECRETS, PICAM_LIVE_ICE_PORTS: '' }).flowEnv.PICAM_LIVE_ICE_PORTS, '');
    assert.equal(
      settingsFor({ PICAM_ROLE: 'cloud', ...SECRETS, PICAM_LIVE_ICE_PORTS: '40000-40099' }).flowEnv.PICAM_LIVE_ICE_PORTS,
      '40000-40099',
    );
    assert.equal(settingsFor({}).flowEnv.PICAM_LIVE_ICE_PORTS, '');
  });

  it('the Pi records its camera locally and sends its clips to PICAM_CLOUD_URL; the demo only when asked, to its own API', () => {
    const pi = settingsFor({
      PICAM_ROLE: 'pi',
      ...SECRETS,
      PICAM_MQTT_HOST: 'cloud.example',
      PICAM_DEVICE_ID: 'pi-7',
      PICAM_DATA_DIR: '/var/lib/pg',
    });
    assert.deepEqual(pi.problems, []);
    assert.equal(pi.flowEnv.PICAM_PI_RECORD_UDP, 'udp://127.0.0.1:8561');
    assert.equal(pi.flowEnv.PICAM_PI_RECORD_SOURCES, 'pi-7=udp://127.0.0.1:8561');
    assert.equal(pi.flowEnv.PICAM_PI_RECORD_DIR, '/var/lib/pg/pi-recordings');
    assert.equal(pi.flowEnv.PICAM_PI_DB_FILE, '/var/lib/pg/pi-recordings.db');
    assert.deepEqual(
      [pi.flowEnv.PICAM_PI_RECORD_RETAIN_CLIP_DAYS, pi.flowEnv.PICAM_PI_RECORD_FREE_PERCENT, pi.flowEnv.PICAM_PI_RECORD_FREE_GB],
      ['7', '15', '1'],
    );
    assert.equal(pi.flowEnv.PICAM_CLOUD_URL, '', 'no cloud address: the clips stay on the Pi');
    const off = settingsFor({ PICAM_ROLE: 'pi', ...SECRETS, PICAM_MQTT_HOST: 'cloud.example', PICAM_PI_RECORD: 'off' });
    assert.deepEqual([off.flowEnv.PICAM_PI_RECORD_UDP, off.flowEnv.PICAM_PI_RECORD_SOURCES], ['', '']);
    const demo = settingsFor({});
    assert.equal(demo.flowEnv.PICAM_PI_RECORD_SOURCES, '', "the demo's cloud records the Pi camera itself");
    const demoOn = settingsFor({ PICAM_PI_RECORD: 'on', PICAM_HTTP_PORT: '1999' });
    assert.equal(demoOn.flowEnv.PICAM_PI_RECORD_SOURCES, 'picam-1=udp://127.0.0.1:8561');
    assert.equal(demoOn.flowEnv.PICAM_CLOUD_URL, 'http://127.0.0.1:1999');
    const bad = settingsFor({ PICAM_ROLE: 'pi', ...SECRETS, PICAM_MQTT_HOST: 'cloud.example', PICAM_PI_RECORD: 'sometimes' });
    assert.match(bad.problems.join('\n'), /PICAM_PI_RECORD must be on or off/);
  });

  it("demo: the recorder records the Pi camera in events mode (the sink's own RTP copy, or the demo MediaMTX); a server records nothing unless told", () => {
    const demo = settingsFor({ PICAM_DATA_DIR: '/tmp/picam-demo' });
    assert.equal(demo.flowEnv.PICAM_RECORD_SOURCES, 'picam-1=udp://127.0.0.1:8560');
    assert.equal(demo.flowEnv.PICAM_RECORD_MODE, 'events');
    assert.equal(demo.flowEnv.PICAM_RECORD_DIR, '/tmp/picam-demo/recordings');
    assert.equal(demo.flowEnv.PICAM_RECORD_PRE_ROLL_SECONDS, '5');
    const withMediamtx = settingsFor({ PICAM_WEBRTC_URL: 'http://127.0.0.1:8889', PICAM_RTSP_URL: 'rtsp://127.0.0.1:8554/picam-1' });
    assert.equal(withMediamtx.flowEnv.PICAM_RECORD_SOURCES, 'picam-1=rtsp://127.0.0.1:8554/picam-1');
    const cloud = settingsFor({ PICAM_ROLE: 'cloud', ...SECRETS });
    assert.equal(cloud.flowEnv.PICAM_RECORD_SOURCES, '');
    const bad = settingsFor({ PICAM_ROLE: 'cloud', ...SECRETS, PICAM_RECORD_MODE: 'always', PICAM_RECORD_FREE_PERCENT: '95' });
    assert.ok(
      bad.problems.some((p) => /PICAM_RECORD_MODE must be off, events or continuous/.test(p)),
      bad.problems.join('\n'),
    );
    assert.ok(
      bad.problems.some((p) => /PICAM_RECORD_FREE_PERCENT must be at most 90/.test(p)),
      bad.problems.join('\n'),
    );
  });

  it('cloud: refuses to start without every login and secret, and names each', () => {
    const r = settingsFor({ PICAM_ROLE: 'cloud' });
    for (const name of Object.keys(SECRETS))
      assert.ok(
        r.problems.some((p) => p.startsWith(name)),
        `${name} is reported missing`,
      );
  });

  it('cloud: editor under /admin behind a login, API behind HTTP auth, on all interfaces', () => {
    const r = settingsFor({ PICAM_ROLE: 'cloud', ...SECRETS });
    assert.deepEqual(r.problems, []);
    assert.equal(r.node.uiHost, '0.0.0.0');
    assert.equal(r.node.httpAdminRoot, '/admin');
    assert.deepEqual(r.node.adminAuth, { type: 'credentials', users: [{ username: 'admin', password: '$2b$08$hash', permissions: '*' }] });
    assert.deepEqual(r.node.httpNodeAuth, { user: 'viewer', pass: '$2b$08$hash2' });
    assert.equal(r.node.credentialSecret, 'secret');
    assert.equal(r.flowEnv.MQTT_PASSWORD, 'pw');
  });

  it('pi: editor login required, no API login', () => {
    const r = settingsFor({
      PICAM_ROLE: 'pi',
      ...SECRETS,
      PICAM_MQTT_HOST: 'cloud.example',
      PICAM_API_USER: undefined,
      PICAM_API_PASSWORD_HASH: undefined,
    });
    assert.deepEqual(r.problems, []);
    assert.ok(r.node.adminAuth);
    assert.equal(r.node.httpNodeAuth, undefined);
  });

  it('pi: the topics of its device id, its birth and Last Will messages, and the cloud broker required', () => {
    const r = settingsFor({
      PICAM_ROLE: 'pi',
      ...SECRETS,
      PICAM_DEVICE_ID: 'kitchen-pi',
      PICAM_DEVICE_NAME: 'Kitchen',
      PICAM_MQTT_HOST: 'cloud.example',
    });
    assert.deepEqual(r.problems, []);
    assert.equal(r.flowEnv.PICAM_ENVIRONMENT_TOPIC, 'prod/device/message/picam/kitchen-pi/sensors/environment');
    assert.equal(r.flowEnv.PICAM_CONNECTION_TOPIC, 'prod/device/connection/picam/kitchen-pi');
    assert.equal(r.flowEnv.PICAM_COMMAND_TOPIC, 'prod/honeycomb/kitchen-pi/#');
    assert.equal(JSON.parse(r.flowEnv.PICAM_BIRTH_PAYLOAD!).name, 'Kitchen');
    assert.deepEqual(JSON.parse(r.flowEnv.PICAM_WILL_PAYLOAD!), { status: 'disconnected' });
    assert.equal(r.flowEnv.PICAM_SENSEHAT_BACKEND, 'auto', 'never the simulation on a real Pi unless asked');
    assert.match(settingsFor({ PICAM_ROLE: 'pi', ...SECRETS }).problems.join(), /PICAM_MQTT_HOST is required for the pi role/);
    assert.match(
      settingsFor({ PICAM_ROLE: 'pi', ...SECRETS, PICAM_MQTT_HOST: '' }).problems.join(),
      /PICAM_MQTT_HOST is required/,
      "an env file's empty line is missing too",
    );
    assert.match(
      settingsFor({ PICAM_ROLE: 'pi', ...SECRETS, PICAM_MQTT_HOST: 'x', PICAM_DEVICE_ID: 'a/b' }).problems.join(),
      /PICAM_DEVICE_ID must match/,
    );
    assert.equal(settingsFor({}).flowEnv.PICAM_SENSEHAT_BACKEND, 'simulated', 'the demo simulates the board');
  });

  it("pi: an IP camera on its LAN only when PICAM_IPCAM_SUB_URL is set; its id on the Pi is a plain id (the cloud adds the Pi's)", () => {
    const pi = { PICAM_ROLE: 'pi', ...SECRETS, PICAM_MQTT_HOST: 'x', PICAM_DEVICE_ID: 'pi-1' };
    const none = settingsFor(pi);
    assert.deepEqual(none.problems, []);
    assert.equal(none.flowEnv.PICAM_IPCAM_SUB_URL, '');
    assert.equal(none.flowEnv.PICAM_IPCAM_ID, 'ipcam');
    assert.equal(settingsFor({ ...pi, PICAM_IPCAM_ID: 'door' }).flowEnv.PICAM_IPCAM_ID, 'door');
    for (const bad of ['pi-1.door', 'a/b', '+'])
      assert.match(settingsFor({ ...pi, PICAM_IPCAM_ID: bad }).problems.join(), /PICAM_IPCAM_ID must match/, bad);
  });

  it('reports bad values instead of guessing', () => {
    assert.match(settingsFor({ PICAM_ROLE: 'server' }).problems.join(), /PICAM_ROLE must be one of demo, cloud, pi/);
    assert.match(settingsFor({ PICAM_HTTP_PORT: '70000' }).problems.join(), /PICAM_HTTP_PORT must be a TCP port number/);
    assert.match(settingsFor({ PICAM_MQTT_PORT: 'mqtt' }).problems.join(), /PICAM_MQTT_PORT must be a TCP port number/);
    assert.match(settingsFor({ PICAM_MQTT_BROKER: 'mosquitto' }).problems.join(), /PICAM_MQTT_BROKER must be embedded or external/);
    assert.match(settingsFor({ PICAM_HOST: '0.0.0.0' }).problems.join(), /the demo has no logins and serves only 127\.0\.0\.1/);
    assert.deepEqual(settingsFor({ PICAM_HOST: 'localhost' }).problems, []);
    assert.match(settingsFor({ PICAM_GATEWAY_PORT: '-1' }).problems.join(), /PICAM_GATEWAY_PORT must be a TCP port number/);
  });

  it('binds the embedded broker where the role serves (PICAM_HOST) unless PICAM_MQTT_BIND says otherwise', () => {
    assert.equal(settingsFor({}).flowEnv.PICAM_MQTT_BIND, '127.0.0.1');
    const cloud = { PICAM_ROLE: 'cloud', ...SECRETS };
    assert.equal(settingsFor(cloud).flowEnv.PICAM_MQTT_BIND, '0.0.0.0');
    assert.equal(settingsFor({ ...cloud, PICAM_HOST: '127.0.0.1' }).flowEnv.PICAM_MQTT_BIND, '127.0.0.1');
    assert.equal(settingsFor({ ...cloud, PICAM_HOST: '127.0.0.1', PICAM_MQTT_BIND: '10.0.0.5' }).flowEnv.PICAM_MQTT_BIND, '10.0.0.5');
    // The demo's broker has no login: loopback only.
    assert.match(
      settingsFor({ PICAM_MQTT_BIND: '0.0.0.0' }).problems.join(),
      /the demo's broker has no login and listens only on 127\.0\.0\.1/,
    );
  });

  it('hands the camera certificate mode to the gateway and the broker: shared unless told per-camera, anything else refused', () => {
    const cloud = { PICAM_ROLE: 'cloud', ...SECRETS };
    assert.equal(settingsFor(cloud).flowEnv.PICAM_CERT_MODE, 'shared');
    assert.equal(settingsFor({ ...cloud, PICAM_CERT_MODE: '' }).flowEnv.PICAM_CERT_MODE, 'shared');
    const perCamera = settingsFor({ ...cloud, PICAM_CERT_MODE: 'Per-Camera' });
    assert.deepEqual(perCamera.problems, []);
    assert.equal(perCamera.flowEnv.PICAM_CERT_MODE, 'per-camera');
    assert.match(
      settingsFor({ ...cloud, PICAM_CERT_MODE: 'per-device' }).problems.join(),
      /PICAM_CERT_MODE must be shared or per-camera \(got "per-device"\)/,
    );
    // The shipped flow hands it to both nodes.
    const flow = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'flows', 'cloud.json'), 'utf8')) as Array<{
      type: string;
      certMode?: string;
    }>;
    for (const type of ['hivecam-gateway', 'picam-broker'])
      assert.equal(flow.find((n) => n.type === type)?.certMode, '${PICAM_CERT_MODE}', type);
  });

  it('follows a custom topic prefix into the subscription', () => {
    assert.equal(settingsFor({ PICAM_PREFIX: 'site7' }).flowEnv.PICAM_DEVICE_TOPIC, 'site7/device/#');
  });
});

describe('broker choice', () => {
  const flow = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'flows', 'cloud.json'), 'utf8')) as FlowNode[];

  it('keeps the shipped flow as it is with the embedded broker', () => {
    assert.deepEqual(selectBroker(flow, 'embedded'), flow);
  });

  it('drops the embedded broker and enables the device input for an external one', () => {
    const external = selectBroker(flow, 'external');
    assert.equal(flow.filter((n) => n.type === 'picam-broker').length, 1, 'the shipped flow embeds picam-broker');
    assert.equal(
      external.filter((n) => /broker$/.test(n.type) && n.type !== 'mqtt-broker').length,
      0,
      'no broker to take Mosquitto’s ports',
    );
    const input = external.find((n) => n.id === 'cloud.mqtt-in')!;
    // the ingest that acknowledges after commit, not the stock mqtt in that acknowledges on arrival
    assert.equal(input.type, 'mqtt-ingest');
    assert.equal(input.topic, '${PICAM_DEVICE_TOPIC}');
    assert.equal(input.d, false);
    assert.equal(external.length, flow.length - 1, 'nothing else changes');
  });

  // The broker sits in the "Device ingest" group: it leaves the group's member
  // list too. Node-RED 4.1 would run a group listing a missing node (the editor
  // drops the id silently on import), but the deploy checks refuse such a flow
  // and the next pull from the editor would rewrite it.
  it('takes the embedded broker out of its group, so the installed flow passes the deploy checks', () => {
    const broker = flow.find((n) => n.type === 'picam-broker')!;
    assert.ok(typeof broker.g === 'string', 'the shipped broker is in a group');
    const external = selectBroker(flow, 'external');
    const group = external.find((n) => n.id === broker.g)!;
    assert.ok(!(group.nodes as string[]).includes(broker.id));
    assert.deepEqual(checkFlow(external, { configRefs: {} }).problems, [], 'no wire, link, group or catch scope names the removed broker');
    const before = flow.find((n) => n.id === broker.g)!;
    assert.deepEqual(
      group.nodes,
      (before.nodes as string[]).filter((id) => id !== broker.id),
      'the other members stay',
    );
  });

  it('removes every reference to the broker, whatever refers to it', () => {
    const edited: FlowNode[] = [
      { id: 't', type: 'tab' },
      { id: 'g', type: 'group', z: 't', nodes: ['b', 'in', 'p'] },
      { id: 'b', type: 'picam-broker', z: 't', g: 'g', wires: [['p']] },
      { id: 'in', type: 'mqtt-ingest', z: 't', g: 'g', topic: '${PICAM_DEVICE_TOPIC}', d: true, wires: [['p']] },
      { id: 'p', type: 'mqtt-processor', z: 't', g: 'g', wires: [] },
      { id: 'c', type: 'catch', z: 't', scope: ['b', 'p'], wires: [] },
      { id: 's', type: 'status', z: 't', scope: ['b'], wires: [] },
    ];
    const external = selectBroker(edited, 'external');
    assert.deepEqual(
      external.map((n) => [n.id, n.nodes ?? n.scope ?? null]),
      [
        ['t', null],
        ['g', ['in', 'p']],
        ['in', null],
        ['p', null],
        ['c', ['p']],
        ['s', []],
      ],
    );
    assert.deepEqual(checkFlow(external, { configRefs: {} }).problems, []);
  });
});
