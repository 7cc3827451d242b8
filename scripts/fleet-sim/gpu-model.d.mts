// Types of gpu-model.mjs for the light mode's TypeScript collector.
export type TGpuTemplate = { helpQueryGpu: string[][]; samples: { idle: Record<string, string>[] } };
export type TSimProfile = 'normal' | 'hot' | 'flaky';
export function noise(seed: number, gpu: number, salt: number, nowMs: number): number;
export function queryGpus(options: {
  template: TGpuTemplate;
  seed: number;
  gpus: number;
  profile: TSimProfile;
  fields: readonly string[];
  nowMs?: number;
}): { lost: string } | { csv: string } | { badField: string };
export function busId(seed: number, g: number): string;
