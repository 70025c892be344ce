/**
 * The editor rows every alert node shares (modes, zones, labels, cooldown, quiet hours, time
 * zone, give-up), written once. Browser code for the Node-RED editor: the build bundles it into
 * the package's `resources/alert-settings.js` (nodes/lib/editor/build.ts), which Node-RED serves at
 * `/resources/picam-guardian/alert-settings.js`; each alert node's .html loads it with
 * `<script src="resources/picam-guardian/alert-settings.js">` (the editor loads such a script
 * before the rest of that file) and registers through `PicamAlertSettings.withSharedSettings`.
 *
 * The zone names are checked with the contract's ZONE_NAME_PATTERN, which the bundle takes from
 * nodes/lib/contract/zones.ts at build time: the editor and the runtime accept the same names.
 * Labels come from each node's own message catalogue (`<type>.label.modes`, ...), as before.
 */
import { ALERT_SETTING_DEFAULTS } from '../alerts/shared-settings';
import { ZONE_NAME_PATTERN } from '../contract/zones';

/** The parts of the Node-RED editor's API used here (it has no published types). */
interface NodeProperty {
  value: unknown;
  validate?: (value: unknown, opt?: unknown) => boolean | string;
  [key: string]: unknown;
}
interface NodeDefinition {
  defaults: Record<string, NodeProperty>;
  oneditprepare?: (this: unknown) => void;
  [key: string]: unknown;
}
interface JQueryLike {
  length: number;
  html(): string;
  html(content: string): JQueryLike;
  find(selector: string): JQueryLike;
  replaceWith(content: string): JQueryLike;
  spinner(opts: { min: number }): JQueryLike;
}
declare const $: (selector: string) => JQueryLike;

/** Where a node's edit template takes the shared rows. */
export const SHARED_ROWS_PLACEHOLDER = 'data-picam-alert-settings';

/** The names of the zones an alert is limited to: comma-separated, each one the contract accepts. */
export function badZoneName(value: unknown): string | undefined {
  return String(value ?? '')
    .split(',')
    .map((z) => z.trim())
    .find((z) => z !== '' && !ZONE_NAME_PATTERN.test(z));
}

const zonesValid = (value: unknown, opt?: unknown): boolean | string => {
  const bad = badZoneName(value);
  if (bad === undefined) return true;
  // Node-RED 3.1+ shows a string as the reason (only when it passes `opt`); a plain false elsewhere.
  return opt ? `"${bad}" is no zone name (letters, digits, space, _ . -; up to 32, starting with a letter or digit)` : false;
};

/** The shared properties with their defaults; `overrides` where a node differs (the webhook drops in quiet hours). */
function sharedDefaults(overrides: Partial<Record<string, unknown>>): Record<string, NodeProperty> {
  const d: Record<string, NodeProperty> = {
    modes: { value: ALERT_SETTING_DEFAULTS.modes },
    zones: { value: '', validate: zonesValid },
    onlyLabels: { value: '' },
    cooldownSeconds: { value: ALERT_SETTING_DEFAULTS.cooldownSeconds },
    quietStart: { value: '' },
    quietEnd: { value: '' },
    quietAction: { value: ALERT_SETTING_DEFAULTS.quietAction },
    timeZone: { value: '' },
    giveUpHours: { value: ALERT_SETTING_DEFAULTS.giveUpHours },
  };
  for (const [k, v] of Object.entries(overrides)) d[k] = { ...d[k]!, value: v };
  return d;
}

/** One labelled row: `field` is the input(s) HTML. */
const row = (type: string, id: string, icon: string, label: string, field: string) =>
  `<div class="form-row picam-alert-setting"><label for="node-input-${id}"><i class="fa ${icon}"></i> ` +
  `<span data-i18n="${type}.label.${label}"></span></label>${field}</div>`;

const text = (id: string, extra = '') => `<input type="text" id="node-input-${id}" ${extra}>`;

/** The rows' HTML for one node type (labels from its own catalogue). */
export function sharedRows(type: string): string {
  return [
    row(type, 'modes', 'fa-shield', 'modes', text('modes', 'placeholder="ARMED"')),
    row(type, 'zones', 'fa-object-ungroup', 'zones', text('zones', 'placeholder="anywhere (or: driveway, front door)"')),
    row(type, 'onlyLabels', 'fa-user', 'onlyLabels', text('onlyLabels', 'placeholder="person   or   driveway=person; garden=person, dog"')),
    row(type, 'cooldownSeconds', 'fa-hourglass-half', 'cooldownSeconds', text('cooldownSeconds', 'style="width:100px;"')),
    row(
      type,
      'quietStart',
      'fa-moon-o',
      'quietHours',
      `${text('quietStart', 'style="width:70px;" placeholder="22:00"')} – ${text('quietEnd', 'style="width:70px;" placeholder="07:00"')} ` +
        `<select id="node-input-quietAction" style="width:120px;">` +
        `<option value="silent" data-i18n="${type}.quietAction.silent"></option>` +
        `<option value="drop" data-i18n="${type}.quietAction.drop"></option></select>`,
    ),
    row(type, 'timeZone', 'fa-globe', 'timeZone', text('timeZone', `data-i18n="[placeholder]${type}.placeholder.timeZone"`)),
    row(type, 'giveUpHours', 'fa-history', 'giveUpHours', text('giveUpHours', 'style="width:100px;"')),
  ].join('');
}

/**
 * The node's definition with the shared properties added and its edit template given the shared
 * rows (where it holds `<div data-picam-alert-settings></div>`), for RED.nodes.registerType.
 */
export function withSharedSettings(type: string, definition: NodeDefinition, overrides: Partial<Record<string, unknown>> = {}) {
  const template = $(`script[data-template-name="${type}"]`);
  if (template.length) {
    // The editor copies the template's HTML into each edit dialog: filled once, here.
    template.html(template.html().replace(new RegExp(`<div ${SHARED_ROWS_PLACEHOLDER}[^>]*></div>`), sharedRows(type)));
  }
  const own = definition.oneditprepare;
  return {
    ...definition,
    defaults: { ...definition.defaults, ...sharedDefaults(overrides) },
    oneditprepare(this: unknown) {
      $('#node-input-cooldownSeconds').spinner({ min: 0 });
      $('#node-input-giveUpHours').spinner({ min: 0 });
      own?.call(this);
    },
  };
}
