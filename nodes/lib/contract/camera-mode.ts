/**
 * A camera's mode, as the firmware names it (seed 004's setmode): the one definition the nodes,
 * the runtime and the dashboard page all use. Browser-safe, like everything in nodes/lib/contract/.
 */
export const CAMERA_MODES = ['ARMED', 'LIVESTREAMONLY', 'PRIVACY'] as const;
export type CameraMode = (typeof CAMERA_MODES)[number];
