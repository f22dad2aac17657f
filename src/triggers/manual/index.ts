import { defineKind, parseWith } from '../types.js';
import { type ManualConfig, manualConfigSchema } from './config.js';
import { MANUAL_ERRORS } from './errors.js';
import { registerManualRoutes } from './routes.js';

/**
 * MANUAL: a person (or the gateway for them) runs the workflow now. The request names the workflow, so
 * the event is aimed at its manual trigger; the index key is the workflow id.
 */
export const manualKind = defineKind<ManualConfig>({
  id: 'MANUAL',
  description: 'Run the workflow on request: POST /api/v1/triggers/workflows/{workflow_id}/manual',
  // A manual run is never taken as a human's reply to a paused execution (contract.md §4.3).
  resumeModes: ['never'],
  errors: MANUAL_ERRORS,
  parseConfig: (raw) => parseWith(manualConfigSchema, raw),
  indexKey: (_config, ctx) => ctx.workflowId,
  match: () => ({ matched: true }),
  registerRoutes: registerManualRoutes,
});
