/**
 * What a camera's object detector saw (issue 20), as it crosses wires: the
 * `detection` of an activity start (MQTT), of an alert, of /api/events rows and of
 * the object-detector node's output. Browser-safe: types only.
 */

/** A box in percent of the frame (0–100), like motion's `region`. */
export interface PercentBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One object seen in a frame: a COCO label ("person", "car", "dog", "cat"...), a score 0–1 and its box. */
export interface Detection {
  label: string;
  score: number;
  box: PercentBox;
}
