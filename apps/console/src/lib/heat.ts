/** Colour of a reading on a blue → green → yellow → red ramp; grey when unknown (null is not 0). */
export function heatColor(value: number | null, min: number, max: number): string {
  if (value === null || Number.isNaN(value)) return '#3a404a';
  const t = Math.max(0, Math.min(1, (value - min) / (max - min)));
  const hue = 220 - 220 * t;
  return `hsl(${hue.toFixed(0)} 75% ${(38 + 12 * t).toFixed(0)}%)`;
}

export const HEAT_SCALES = {
  temperature: { min: 30, max: 90, unit: '°C', label: 'Temperature' },
  utilization: { min: 0, max: 100, unit: '%', label: 'Utilization' },
} as const;
export type THeatMode = keyof typeof HEAT_SCALES;
