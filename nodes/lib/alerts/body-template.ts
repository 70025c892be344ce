/**
 * A JSON body template for HTTP alert channels (webhook-alert): `{{field}}` is replaced by an
 * alert field, so a receiver gets the JSON it expects without a translator in between.
 * Inside a JSON string (`"text": "{{summary}}"`) the value is JSON-escaped text; standing
 * alone (`"time": {{timeMs}}`) it is the value as JSON (a number, a quoted string, null).
 * Checked when the node starts: unknown fields and a template that is no JSON are refused
 * there, with the reason, never at the first alert.
 */

/** What a template may name. */
export const TEMPLATE_FIELDS = [
  'id',
  'item',
  'kind',
  'deviceId',
  'deviceName',
  'eventId',
  'severity',
  'mode',
  'text',
  'timeMs',
  'time',
  'summary',
  'headline',
  'link',
  'pictureUrl',
  'clipUrl',
  'imageBase64',
] as const;

export type TemplateField = (typeof TEMPLATE_FIELDS)[number];
export type TemplateValues = Partial<Record<TemplateField, string | number | null | undefined>>;

type Part = { text: string } | { field: TemplateField; inString: boolean };

export class BodyTemplate {
  private constructor(private readonly parts: Part[]) {}

  /** Throws with the reason when the template cannot work. */
  static parse(template: string): BodyTemplate {
    const parts: Part[] = [];
    let inString = false;
    let text = '';
    for (let i = 0; i < template.length; i++) {
      if (template.startsWith('{{', i)) {
        const end = template.indexOf('}}', i + 2);
        if (end < 0) throw new Error(`body template: "{{" at ${i + 1} is never closed`);
        const name = template.slice(i + 2, end).trim();
        if (!(TEMPLATE_FIELDS as readonly string[]).includes(name)) {
          throw new Error(`body template: unknown field {{${name}}} (fields: ${TEMPLATE_FIELDS.join(', ')})`);
        }
        parts.push({ text }, { field: name as TemplateField, inString });
        text = '';
        i = end + 1;
        continue;
      }
      const c = template[i]!;
      if (c === '\\' && inString) {
        text += c + (template[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === '"') inString = !inString;
      text += c;
    }
    parts.push({ text });
    const parsed = new BodyTemplate(parts);
    const sample = Object.fromEntries(TEMPLATE_FIELDS.map((f) => [f, f === 'timeMs' ? 0 : 'x"\\\n']));
    try {
      JSON.parse(parsed.render(sample));
    } catch (err) {
      throw new Error(`body template is not JSON once filled in: ${(err as Error).message}`);
    }
    return parsed;
  }

  render(values: TemplateValues): string {
    return this.parts
      .map((p) => {
        if ('text' in p) return p.text;
        const v = values[p.field];
        return p.inString ? JSON.stringify(v === undefined || v === null ? '' : String(v)).slice(1, -1) : JSON.stringify(v ?? null);
      })
      .join('');
  }
}
