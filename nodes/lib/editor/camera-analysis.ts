/**
 * The editor rows of a camera the analyser watches (rpicam-rtsp, ipcam): motion (on, sensitivity,
 * minimum duration, quiet time), masks and zones as JSON, and the person detector (on, score,
 * minimum box, hold, labels). Written once; the build bundles it into the package's
 * `resources/camera-analysis.js`, which each such node's .html loads and registers through
 * `PicamCameraAnalysis.withCameraAnalysis`. Labels come from each node's own message catalogue.
 *
 * The zones are checked in the dialog by the contract's own reader (nodes/lib/contract/zones.ts),
 * the one the node runs at deploy: the editor names what is wrong before a deploy does.
 */
import { MOTION_DEFAULTS } from '../camera/settings';
import { readZones } from '../contract/zones';
import { DEFAULT_FILTER } from '../detect/types';
import { fillTemplate, input, type NodeDefinition, type NodeProperty } from './editor-rows';

/** Where a node's edit template takes the analysis rows. */
export const CAMERA_ANALYSIS_PLACEHOLDER = 'data-picam-camera-analysis';

/** The analyser's defaults, as the nodes' settings read them when a property is empty. */
export const ANALYSIS_EDITOR_DEFAULTS = {
  motion: true,
  ...MOTION_DEFAULTS,
  detect: false,
  detectHoldSeconds: 3,
} as const;

/** The reason the zones JSON is refused, or undefined when the node would take it. */
export function zonesProblem(value: unknown): string | undefined {
  try {
    readZones(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const zonesValid = (value: unknown, opt?: unknown): boolean | string => {
  const problem = zonesProblem(value);
  // Node-RED 3.1+ shows a string as the reason (only when it passes `opt`); a plain false elsewhere.
  return problem === undefined ? true : opt ? problem : false;
};

function analysisDefaults(): Record<string, NodeProperty> {
  const d = ANALYSIS_EDITOR_DEFAULTS;
  return {
    motion: { value: d.motion },
    sensitivity: { value: d.sensitivity },
    minMotionSeconds: { value: d.minMotionSeconds },
    quietSeconds: { value: d.quietSeconds },
    zones: { value: '', validate: zonesValid },
    detect: { value: d.detect },
    detectThreshold: { value: DEFAULT_FILTER.threshold },
    detectMinBox: { value: DEFAULT_FILTER.minBoxPercent },
    detectLabels: { value: DEFAULT_FILTER.labels.join(', ') },
    detectHoldSeconds: { value: d.detectHoldSeconds },
  };
}

const label = (type: string, key: string) => `<span data-i18n="${type}.label.${key}"></span>`;
const checkbox = (type: string, id: string, key: string, style = 'padding-left:20px;width:auto;') =>
  `<label for="node-input-${id}" style="${style}"><input type="checkbox" id="node-input-${id}" style="width:auto;"> ${label(type, key)}</label>`;
const small = (id: string, width: number) => input(id, `style="width:${width}px;"`);
const ZONES_EXAMPLE = `[{"kind":"zone","name":"driveway","points":[[0,50],[60,50],[60,100],[0,100]]}]`;

/** The rows' HTML for one node type. */
export function analysisRows(type: string): string {
  const row = (html: string) => `<div class="form-row picam-camera-analysis">${html}</div>`;
  return [
    row(
      `${checkbox(type, 'motion', 'motion')} ${label(type, 'sensitivity')} ${small('sensitivity', 45)} ` +
        `${label(type, 'minMotion')} ${small('minMotionSeconds', 40)} s ${label(type, 'quiet')} ${small('quietSeconds', 40)} s`,
    ),
    row(
      `<label for="node-input-zones" style="padding-left:20px;">${label(type, 'zones')}</label>` +
        `<textarea id="node-input-zones" rows="3" style="width:70%; font-family:monospace;" placeholder='${ZONES_EXAMPLE}'></textarea>`,
    ),
    row(
      `${checkbox(type, 'detect', 'detect')} ${label(type, 'detectThreshold')} ${small('detectThreshold', 45)} ` +
        `${label(type, 'detectMinBox')} ${small('detectMinBox', 40)} % ${label(type, 'detectHold')} ${small('detectHoldSeconds', 40)} s`,
    ),
    row(
      `<label for="node-input-detectLabels" style="padding-left:20px;">${label(type, 'detectLabels')}</label>` +
        input('detectLabels', `placeholder="${DEFAULT_FILTER.labels.join(', ')}"`),
    ),
  ].join('');
}

/**
 * The node's definition with the analysis properties added and its edit template given the rows
 * where it holds `<div data-picam-camera-analysis></div>`, for RED.nodes.registerType.
 */
export function withCameraAnalysis(type: string, definition: NodeDefinition): NodeDefinition {
  fillTemplate(type, CAMERA_ANALYSIS_PLACEHOLDER, analysisRows(type));
  return { ...definition, defaults: { ...definition.defaults, ...analysisDefaults() } };
}
