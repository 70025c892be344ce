/**
 * The camera card's "Masks and zones" button: opens the camera's zone editor (zones.ts) in the
 * card, built when first opened (the picture is fetched only then), and closes it again.
 * VBC01 cameras get no button: they detect motion themselves.
 */
import type { CameraRow } from '../../nodes/lib/contract/dashboard-api';
import { h } from './dom';
import { pictureSources, takesZones, ZoneEditor } from './zones';

export function zonesButton(
  row: () => CameraRow,
  mjpeg: Record<string, string>,
  place: (panel: HTMLElement) => void,
): HTMLButtonElement | null {
  const first = row();
  if (!takesZones(first)) return null;
  const label = first.camera_name ?? first.camera_id;
  const button = h(
    'button',
    { type: 'button', class: 'zones', 'aria-expanded': 'false', 'aria-label': `Masks and zones of ${label}` },
    'Masks and zones',
  );
  let editor: ZoneEditor | undefined;
  button.addEventListener('click', () => {
    if (editor) {
      editor.root.remove();
      editor = undefined;
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    editor = new ZoneEditor(row(), pictureSources(row(), mjpeg));
    place(editor.root);
    button.setAttribute('aria-expanded', 'true');
  });
  return button;
}
