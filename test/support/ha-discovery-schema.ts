/**
 * Home Assistant's MQTT discovery schema, written from its documentation
 * (home-assistant.io/integrations/mqtt: "Device discovery payload", "Using abbreviations",
 * "Using availability topics", and each platform's page: binary_sensor, sensor, select,
 * button, camera), as a checker that returns every problem it finds. A real Home Assistant
 * cannot run here; this is what it would refuse or misread.
 */

/** Documented abbreviations (mqtt/abbreviations.py as the docs list them) → full names, for the keys we may meet. */
export const ABBREVIATIONS: Readonly<Record<string, string>> = {
  avty: 'availability',
  avty_mode: 'availability_mode',
  avty_t: 'availability_topic',
  avty_tpl: 'availability_template',
  cmd_t: 'command_topic',
  cmd_tpl: 'command_template',
  cmps: 'components',
  dev: 'device',
  dev_cla: 'device_class',
  e: 'encoding',
  ent_cat: 'entity_category',
  ic: 'icon',
  img_e: 'image_encoding',
  json_attr_t: 'json_attributes_topic',
  o: 'origin',
  ops: 'options',
  p: 'platform',
  pl_avail: 'payload_available',
  pl_not_avail: 'payload_not_available',
  pl_off: 'payload_off',
  pl_on: 'payload_on',
  pl_prs: 'payload_press',
  stat_cla: 'state_class',
  stat_t: 'state_topic',
  t: 'topic',
  uniq_id: 'unique_id',
  unit_of_meas: 'unit_of_measurement',
  val_tpl: 'value_template',
};
export const DEVICE_ABBREVIATIONS: Readonly<Record<string, string>> = {
  ids: 'identifiers',
  mf: 'manufacturer',
  mdl: 'model',
  sw: 'sw_version',
  hw: 'hw_version',
  sn: 'serial_number',
  cns: 'connections',
  sa: 'suggested_area',
};
export const ORIGIN_ABBREVIATIONS: Readonly<Record<string, string>> = { sw: 'sw_version', url: 'support_url' };

const full = (key: string, table = ABBREVIATIONS) => table[key] ?? key;

/** Shared options allowed at the root of a device discovery payload. */
const ROOT_OPTIONS = new Set([
  'device',
  'origin',
  'components',
  'availability',
  'availability_mode',
  'availability_topic',
  'availability_template',
  'payload_available',
  'payload_not_available',
  'command_topic',
  'state_topic',
  'qos',
  'encoding',
]);

const COMMON = [
  'platform',
  'name',
  'unique_id',
  'icon',
  'entity_category',
  'object_id',
  'enabled_by_default',
  'qos',
  'encoding',
  'availability',
  'availability_topic',
  'payload_available',
  'payload_not_available',
  'availability_mode',
  'json_attributes_topic',
  'device_class',
];

interface PlatformRule {
  required: string[];
  allowed: string[];
  deviceClasses?: readonly string[];
}

/** Each platform's documented options (the ones a camera system would use) and required keys. */
const PLATFORMS: Readonly<Record<string, PlatformRule>> = {
  binary_sensor: {
    required: ['state_topic'],
    allowed: ['state_topic', 'payload_on', 'payload_off', 'value_template', 'off_delay', 'expire_after', 'force_update'],
    deviceClasses: ['motion', 'occupancy', 'presence', 'connectivity', 'problem', 'safety', 'sound', 'tamper', 'vibration', 'battery'],
  },
  sensor: {
    required: ['state_topic'],
    allowed: [
      'state_topic',
      'value_template',
      'unit_of_measurement',
      'state_class',
      'expire_after',
      'force_update',
      'suggested_display_precision',
    ],
    deviceClasses: ['temperature', 'humidity', 'pressure', 'atmospheric_pressure', 'battery', 'signal_strength', 'voltage', 'duration'],
  },
  select: {
    required: ['command_topic', 'options'],
    allowed: ['command_topic', 'command_template', 'options', 'state_topic', 'value_template', 'optimistic', 'retain'],
  },
  button: {
    required: ['command_topic'],
    allowed: ['command_topic', 'command_template', 'payload_press', 'retain'],
    deviceClasses: ['identify', 'restart', 'update'],
  },
  camera: {
    required: ['topic'],
    allowed: ['topic', 'image_encoding'],
  },
};

/** Units Home Assistant accepts for a sensor device class (sensor docs, "Device class"). */
const UNITS: Readonly<Record<string, readonly string[]>> = {
  temperature: ['°C', '°F', 'K'],
  humidity: ['%'],
  battery: ['%'],
  pressure: ['cbar', 'bar', 'hPa', 'mmHg', 'inHg', 'kPa', 'mbar', 'Pa', 'psi'],
  atmospheric_pressure: ['cbar', 'bar', 'hPa', 'mmHg', 'inHg', 'kPa', 'mbar', 'Pa', 'psi'],
  signal_strength: ['dB', 'dBm'],
};

const ID = /^[A-Za-z0-9_-]+$/;
const isTopic = (v: unknown) => typeof v === 'string' && v.length > 0 && !/[#+\u0000]/.test(v);

/** Checks one device discovery message; returns the problems (empty: Home Assistant accepts it). */
export function checkDeviceDiscovery(topic: string, payload: unknown, discoveryPrefix = 'homeassistant'): string[] {
  const problems: string[] = [];
  const bad = (what: string) => problems.push(what);
  const m = new RegExp(`^${discoveryPrefix}/device/([^/]+)/config$`).exec(topic);
  if (!m) bad(`topic ${topic} is not ${discoveryPrefix}/device/<object_id>/config`);
  else if (!ID.test(m[1]!)) bad(`object id "${m[1]}" must match [a-zA-Z0-9_-]+`);
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return [...problems, 'the payload must be a JSON object'];

  const root: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) {
    const name = full(k);
    if (name in root) bad(`root option ${name} given twice (abbreviated and in full)`);
    root[name] = v;
    if (!ROOT_OPTIONS.has(name)) bad(`root option "${k}" is not a shared option of device discovery`);
  }
  checkDevice(root.device, bad);
  checkOrigin(root.origin, bad);
  checkAvailability(root, 'root', bad);

  const components = root.components;
  if (!components || typeof components !== 'object' || Object.keys(components).length === 0) {
    bad('components (cmps) must map component ids to their configs');
    return problems;
  }
  const uniqueIds = new Set<string>();
  for (const [cid, raw] of Object.entries(components as Record<string, unknown>)) {
    if (!ID.test(cid)) bad(`component id "${cid}" must match [a-zA-Z0-9_-]+`);
    checkComponent(cid, raw, root, uniqueIds, bad);
  }
  return problems;
}

function checkDevice(device: unknown, bad: (w: string) => void): void {
  if (!device || typeof device !== 'object') return bad('device (dev) is required');
  const d: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(device)) d[full(k, DEVICE_ABBREVIATIONS)] = v;
  const ids = d.identifiers;
  const okIds =
    typeof ids === 'string' ? ids !== '' : Array.isArray(ids) && ids.length > 0 && ids.every((i) => typeof i === 'string' && i !== '');
  if (!okIds && !d.connections) bad('device needs identifiers (ids) or connections');
  if (d.name !== undefined && (typeof d.name !== 'string' || d.name === '')) bad('device name must be non-empty text');
}

function checkOrigin(origin: unknown, bad: (w: string) => void): void {
  if (!origin || typeof origin !== 'object') return bad('origin (o) is required in device discovery');
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(origin)) o[full(k, ORIGIN_ABBREVIATIONS)] = v;
  if (typeof o.name !== 'string' || o.name === '') bad('origin name is required');
}

function checkAvailability(c: Record<string, unknown>, where: string, bad: (w: string) => void): void {
  if (c.availability_topic !== undefined && !isTopic(c.availability_topic)) bad(`${where}: availability_topic must be a topic`);
  if (c.availability !== undefined) {
    if (
      !Array.isArray(c.availability) ||
      c.availability.some((a) => !a || !isTopic((a as Record<string, unknown>).topic ?? (a as Record<string, unknown>).t))
    ) {
      bad(`${where}: availability must be a list of {topic}`);
    }
    if (c.availability_topic !== undefined) bad(`${where}: availability and availability_topic are exclusive`);
  }
  for (const k of ['payload_available', 'payload_not_available']) {
    if (c[k] !== undefined && typeof c[k] !== 'string') bad(`${where}: ${k} must be text`);
  }
}

function checkComponent(cid: string, raw: unknown, root: Record<string, unknown>, uniqueIds: Set<string>, bad: (w: string) => void): void {
  if (!raw || typeof raw !== 'object') return bad(`${cid}: config must be an object`);
  const c: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const name = full(k);
    if (name in c) bad(`${cid}: ${name} given twice`);
    c[name] = v;
  }
  const platform = c.platform;
  if (typeof platform !== 'string') return bad(`${cid}: platform (p) is required`);
  const rule = PLATFORMS[platform];
  if (!rule) return bad(`${cid}: platform "${platform}" is not one this checker knows (${Object.keys(PLATFORMS).join(', ')})`);
  const uid = c.unique_id;
  if (typeof uid !== 'string' || uid === '') bad(`${cid}: unique_id is required for entity components`);
  else if (uniqueIds.has(uid)) bad(`${cid}: unique_id ${uid} used twice`);
  else uniqueIds.add(uid);
  for (const key of Object.keys(c)) {
    if (!COMMON.includes(key) && !rule.allowed.includes(key)) bad(`${cid}: "${key}" is not an option of ${platform}`);
  }
  for (const key of rule.required) {
    // state_topic and command_topic may be shared from the root
    const shared = (key === 'state_topic' || key === 'command_topic') && root[key] !== undefined;
    if (c[key] === undefined && !shared) bad(`${cid}: ${platform} requires ${key}`);
  }
  for (const key of ['state_topic', 'command_topic', 'topic', 'json_attributes_topic']) {
    if (c[key] !== undefined && !isTopic(c[key])) bad(`${cid}: ${key} must be a topic without wildcards`);
  }
  if (c.device_class !== undefined && !rule.deviceClasses?.includes(c.device_class as string)) {
    bad(`${cid}: device_class "${String(c.device_class)}" is not one of ${platform}'s`);
  }
  if (platform === 'sensor' && typeof c.device_class === 'string' && UNITS[c.device_class]) {
    if (!UNITS[c.device_class]!.includes(c.unit_of_measurement as string)) {
      bad(`${cid}: unit "${String(c.unit_of_measurement)}" is not valid for device_class ${c.device_class}`);
    }
  }
  if (c.state_class !== undefined && !['measurement', 'total', 'total_increasing'].includes(c.state_class as string)) {
    bad(`${cid}: state_class "${String(c.state_class)}" is not measurement, total or total_increasing`);
  }
  if (c.entity_category !== undefined && !['config', 'diagnostic'].includes(c.entity_category as string)) {
    bad(`${cid}: entity_category must be config or diagnostic`);
  }
  if (platform === 'select' && (!Array.isArray(c.options) || c.options.length === 0 || c.options.some((o) => typeof o !== 'string'))) {
    bad(`${cid}: options must be a non-empty list of text`);
  }
  if (c.image_encoding !== undefined && c.image_encoding !== 'b64') bad(`${cid}: image_encoding may only be b64`);
  checkAvailability(c, cid, bad);
}
