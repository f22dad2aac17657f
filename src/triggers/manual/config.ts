import { z } from 'zod';

/** MANUAL configuration: spec keys (trigger_name, description) and the older input_schema / require_confirmation. */
export const manualConfigSchema = z.object({
  trigger_name: z.string().max(200).default('Manual Trigger'),
  description: z.string().max(2000).default(''),
  input_schema: z.record(z.string(), z.unknown()).optional(),
  require_confirmation: z.boolean().default(false),
});

export type ManualConfig = z.output<typeof manualConfigSchema>;
