/**
 * Named CT windows (center/width in Hounsfield units).
 *
 * Values are the common radiology defaults as tabulated by Radiopaedia ("Windowing (CT)"): a preset is a
 * starting point, not a standard; use explicit `center`/`width` when a model was trained with other values.
 *
 * @module
 */

/** A named window. */
export interface WindowPreset {
  readonly center: number;
  readonly width: number;
  readonly use: string;
}

/** Built-in presets, by name. */
export const PRESETS = {
  brain: { center: 40, width: 80, use: "head CT, brain parenchyma" },
  subdural: { center: 75, width: 215, use: "head CT, extra-axial blood" },
  stroke: { center: 40, width: 40, use: "head CT, early ischaemia" },
  "temporal-bone": { center: 600, width: 2800, use: "temporal bone" },
  "soft-tissue": { center: 40, width: 400, use: "body soft tissue (also abdomen)" },
  mediastinum: { center: 50, width: 350, use: "chest, mediastinum" },
  lung: { center: -600, width: 1500, use: "chest, lung parenchyma" },
  liver: { center: 30, width: 150, use: "abdomen, liver" },
  bone: { center: 400, width: 1800, use: "bone" },
} as const satisfies Record<string, WindowPreset>;

/** Preset names. */
export type PresetName = keyof typeof PRESETS;

/** Every preset name, for Schemas and help text. */
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
