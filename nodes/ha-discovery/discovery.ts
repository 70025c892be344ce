/**
 * Home Assistant MQTT discovery payloads, device-based (HA 2024.11+): one retained message per
 * device on `{discovery}/device/{object_id}/config` with the device (`dev`), the origin (`o`),
 * the availability shared by every entity, and its entities under `cmps`, each with its
 * platform (`p`) and a `unique_id`. Removal is an empty retained payload on the same topic.
 * Keys use Home Assistant's documented abbreviations. The entities read and write the MQTT API's
 * topics (nodes/lib/contract/mqtt-api.ts), so Home Assistant and other programs see one state.
 */
import { CAMERA_MODES } from '../lib/contract/camera-mode';
import { OFF, OFFLINE, ON, ONLINE, PRESS, type ApiTopics } from '../lib/contract/mqtt-api';
import type { DeviceFacts } from '../lib/mqtt/device-view';

export interface Origin {
  name: string;
  sw?: string;
  url?: string;
}

export interface DiscoveryOptions {
  discoveryPrefix: string;
  api: ApiTopics;
  origin: Origin;
}

type Component = Record<string, unknown> & { p: string; uniq_id?: string };

export interface DiscoveryPayload {
  dev: { ids: string[]; name: string; mf: string; mdl: string; sw?: string };
  o: Origin;
  avty_t: string;
  pl_avail: string;
  pl_not_avail: string;
  qos: number;
  cmps: Record<string, Component>;
}

const MODELS: Readonly<Record<string, [manufacturer: string, model: string]>> = {
  'hive-cam': ['Honeycomb', 'VBC01 camera'],
  picam: ['Raspberry Pi', 'PiCam Guardian Pi (camera + Sense HAT)'],
  ipcam: ['PiCam Guardian', 'IP camera (RTSP/ONVIF)'],
};

/** Discovery's object id: the device id with what the topic level may not hold (`.` of a Pi-hosted camera) made `_`. */
export function objectId(deviceId: string): string {
  return `picam_${deviceId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function discoveryTopic(discoveryPrefix: string, deviceId: string): string {
  return `${discoveryPrefix.replace(/\/+$/, '')}/device/${objectId(deviceId)}/config`;
}

/** The device's discovery message: topic and JSON payload (published retained). */
export function discoveryPayload(device: DeviceFacts, opts: DiscoveryOptions): DiscoveryPayload {
  const { api } = opts;
  const oid = objectId(device.id);
  const [mf, mdl] = MODELS[device.type] ?? ['PiCam Guardian', device.type];
  const cmps: Record<string, Component> = {};
  const add = (key: string, c: Record<string, unknown> & { p: string }) => (cmps[key] = { ...c, uniq_id: `${oid}_${key}` });
  const binary = (what: 'motion' | 'person', name: string, deviceClass: string) =>
    add(what, { p: 'binary_sensor', name, dev_cla: deviceClass, stat_t: api.state(device.id, what), pl_on: ON, pl_off: OFF });
  const reading = (key: string, topic: 'sensors' | 'health', name: string, extra: Record<string, unknown>) =>
    add(key, {
      p: 'sensor',
      name,
      stat_t: api.state(device.id, topic),
      val_tpl: `{{ value_json.${key} }}`,
      stat_cla: 'measurement',
      ...extra,
    });

  if (device.has.motion) binary('motion', 'Motion', 'motion');
  if (device.has.person) binary('person', 'Person', 'occupancy');
  if (device.has.sensors) {
    reading('temperature', 'sensors', 'Temperature', { dev_cla: 'temperature', unit_of_meas: '°C' });
    reading('humidity', 'sensors', 'Humidity', { dev_cla: 'humidity', unit_of_meas: '%' });
    reading('pressure', 'sensors', 'Pressure', { dev_cla: 'pressure', unit_of_meas: 'hPa' });
  }
  if (device.has.battery) reading('battery', 'health', 'Battery', { dev_cla: 'battery', unit_of_meas: '%', ent_cat: 'diagnostic' });
  // The firmware's radio.signalStrength comes without a unit (vbc01-protocol.md): no device class claims one.
  if (device.has.signal) reading('signal', 'health', 'Signal', { ic: 'mdi:wifi', ent_cat: 'diagnostic' });
  add('mode', {
    p: 'select',
    name: 'Mode',
    ops: [...CAMERA_MODES],
    stat_t: api.state(device.id, 'mode'),
    cmd_t: api.set(device.id, 'mode'),
  });
  if (device.has.reboot) {
    add('reboot', {
      p: 'button',
      name: 'Reboot',
      dev_cla: 'restart',
      ent_cat: 'config',
      cmd_t: api.set(device.id, 'reboot'),
      pl_prs: PRESS,
    });
  }
  if (device.has.camera) add('snapshot', { p: 'camera', name: 'Snapshot', t: api.state(device.id, 'snapshot') });

  return {
    dev: { ids: [oid], name: device.name || device.id, mf, mdl, ...(device.firmware && { sw: device.firmware }) },
    o: opts.origin,
    // Availability is the device's own connection state as the runtime stored it.
    avty_t: api.state(device.id, 'connection'),
    pl_avail: ONLINE,
    pl_not_avail: OFFLINE,
    qos: 1,
    cmps,
  };
}
