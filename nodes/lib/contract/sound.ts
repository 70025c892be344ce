/** The sounds a VBC01 plays: POST /api/control/sound/{id}/{soundType}, or .../stop (the firmware's names). */
export const SOUND_TYPES = ['POLICE_SIREN', 'DOG_BARK', 'HOUSE_ALARM', 'LULLABY'] as const;
export type SoundType = (typeof SOUND_TYPES)[number];
