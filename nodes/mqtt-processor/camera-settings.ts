/**
 * The VBC01 `settings/update` document (vbc01-protocol.md §6): 20 fields, flat
 * beside the command envelope. The real dashboard always sends all 20, filling
 * what its form does not offer with the defaults below; so do we. Every field a
 * request names is checked against the values the camera knows, and a field
 * that is not one of the 20 is refused: a camera silently ignoring a typo is
 * worse than a 400 that names it.
 */

type Rule =
  | { kind: 'enum'; values: readonly string[]; default: string }
  | { kind: 'bool'; default: boolean }
  | { kind: 'text'; default: string }
  | { kind: 'schedule' };

const oneOf = (values: readonly string[], def: string): Rule => ({ kind: 'enum', values, default: def });
const flag = (def: boolean): Rule => ({ kind: 'bool', default: def });
const text = (def: string): Rule => ({ kind: 'text', default: def });

const DETECTION = ['SMART', 'ALL', 'OFF'];
const LEVELS = ['LOW', 'MEDIUM', 'HIGH'];

/**
 * In the order the real dashboard sends them. Where its default is not one of
 * its form's values (`720p`, `30`) the default is accepted too: it is what
 * cameras get from the real platform every time.
 */
export const CAMERA_SETTINGS: Readonly<Record<string, Rule>> = {
  resolution: oneOf(['R_1080P', 'R_720P', 'R_480P', '720p'], '720p'),
  frameRate: oneOf(['_30FPS', '_15FPS', '_10FPS', '30'], '30'),
  scheduleEnabled: flag(false),
  schedule: { kind: 'schedule' },
  motionDetection: oneOf(DETECTION, 'SMART'),
  audioDetection: oneOf(DETECTION, 'ALL'),
  storage: text('CLOUD'),
  activityZone: text('ALL'),
  ledDot: flag(true),
  ledRing: flag(true),
  soundAlert: flag(true),
  nightVision: oneOf(['AUTO', 'ON', 'OFF'], 'AUTO'),
  invertImage: flag(false),
  cameraAudio: flag(false),
  cameraZoom: text('1X'),
  motionSensitivity: oneOf(LEVELS, 'MEDIUM'),
  audioSensitivity: oneOf(LEVELS, 'MEDIUM'),
  timeZone: text('GMT'),
  wdr: flag(false),
  volume: oneOf(LEVELS, 'MEDIUM'),
};

/** Values the source does not list (storage, zone, zoom, time zone): a short plain word. */
const TEXT_VALUE = /^[A-Za-z0-9_+:/.-]{1,64}$/;
/** A schedule is the camera's list of periods; its shape is not in the source, its size is ours to bound. */
const MAX_SCHEDULE_BYTES = 16 * 1024;

export type SettingsResult = { ok: true; settings: Record<string, unknown> } | { ok: false; error: string };

/** The full document from the fields a request sets; refuses the first field that is wrong, by name. */
export function settingsDocument(requested: unknown): SettingsResult {
  if (!requested || typeof requested !== 'object' || Array.isArray(requested)) {
    return { ok: false, error: `settings must be a JSON object of camera settings (${Object.keys(CAMERA_SETTINGS).join(', ')})` };
  }
  const given = requested as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(CAMERA_SETTINGS, name)) {
      return { ok: false, error: `unknown setting "${name}" (settings: ${Object.keys(CAMERA_SETTINGS).join(', ')})` };
    }
  }
  const settings: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(CAMERA_SETTINGS)) {
    const checked = check(name, rule, given[name]);
    if ('error' in checked) return { ok: false, error: checked.error };
    settings[name] = checked.value;
  }
  return { ok: true, settings };
}

type Checked = { value: unknown } | { error: string };

function check(name: string, rule: Rule, value: unknown): Checked {
  if (value === undefined || value === null) {
    return { value: rule.kind === 'schedule' ? [] : rule.default };
  }
  switch (rule.kind) {
    case 'enum': {
      const found = typeof value === 'string' ? rule.values.find((v) => v.toUpperCase() === value.toUpperCase()) : undefined;
      return found ? { value: found } : { error: `setting "${name}" must be one of ${rule.values.join(', ')}` };
    }
    case 'bool':
      // The real form posts booleans as strings and sends them on as JSON booleans.
      if (typeof value === 'boolean') return { value };
      if (value === 'true' || value === 'false') return { value: value === 'true' };
      return { error: `setting "${name}" must be true or false` };
    case 'text':
      return typeof value === 'string' && TEXT_VALUE.test(value)
        ? { value }
        : { error: `setting "${name}" must be a word of letters, digits and _+:/.- (at most 64)` };
    case 'schedule':
      if (!Array.isArray(value)) return { error: `setting "${name}" must be an array` };
      if (JSON.stringify(value).length > MAX_SCHEDULE_BYTES) return { error: `setting "${name}" larger than ${MAX_SCHEDULE_BYTES} bytes` };
      return { value };
  }
}
