/**
 * What the shared editor scripts (alert-settings.ts, broker-link.ts) have in common: the parts of
 * the Node-RED editor's API they use, one labelled form row, and filling a node's edit template
 * where it holds a placeholder element. Browser code, bundled by build.ts.
 */

/** The parts of the Node-RED editor's API used here (it has no published types). */
export interface NodeProperty {
  value: unknown;
  validate?: (value: unknown, opt?: unknown) => boolean | string;
  [key: string]: unknown;
}
export interface NodeDefinition {
  defaults: Record<string, NodeProperty>;
  credentials?: Record<string, { type: 'text' | 'password' }>;
  oneditprepare?: (this: unknown) => void;
  [key: string]: unknown;
}
export interface JQueryLike {
  length: number;
  html(): string;
  html(content: string): JQueryLike;
  spinner(opts: { min: number }): JQueryLike;
}
declare const $: (selector: string) => JQueryLike;
export const jquery = (selector: string): JQueryLike => $(selector);

/** One labelled row (label text from the node's own catalogue: `<type>.label.<label>`); `field` is the input(s) HTML. */
export const row = (type: string, id: string, icon: string, label: string, field: string, rowClass: string) =>
  `<div class="form-row ${rowClass}"><label for="node-input-${id}"><i class="fa ${icon}"></i> ` +
  `<span data-i18n="${type}.label.${label}"></span></label>${field}</div>`;

/** A text input (`password` for secrets, so the browser never shows them). */
export const input = (id: string, extra = '', kind: 'text' | 'password' = 'text') =>
  `<input type="${kind}" id="node-input-${id}" ${extra}>`;

/**
 * Puts `rows` into the edit template of `type` where it holds `<div {placeholder}></div>`: the
 * editor copies the template's HTML into each edit dialog, so this is done once, at registration.
 */
export function fillTemplate(type: string, placeholder: string, rows: string): void {
  const template = $(`script[data-template-name="${type}"]`);
  if (template.length) template.html(template.html().replace(new RegExp(`<div ${placeholder}[^>]*></div>`), rows));
}
