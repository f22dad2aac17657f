import type { NewTrigger } from '../db/triggers.sql.js';
import { AppError, appError } from '../errors.js';
import type { Services } from '../services.js';
import type { Registry } from '../triggers/registry.js';
import { ConfigFieldError, RESUME_MODES, type ResumeMode } from '../triggers/types.js';
import { extractTriggerNodes, parseWorkflowSpec } from '../workflow/spec.js';

/**
 * Validates a workflow spec and every trigger's configuration (errors name the node and the field), then
 * runs each kind's deploy-time resolution. Pure but for that resolution; writes nothing.
 */
export async function prepareTriggers(
  spec: unknown,
  opts: {
    workflowId: string;
    owner: string;
    registry: Registry;
    defaultTimezone: string;
    services: () => Services;
  },
): Promise<NewTrigger[]> {
  const { workflowId, owner, registry, defaultTimezone } = opts;
  const parsed = parseWorkflowSpec(spec, workflowId);
  const nodes = extractTriggerNodes(parsed);
  if (nodes.length === 0) {
    throw appError('SCHED_NO_TRIGGERS', 'the workflow has no node with type TRIGGER', { field: 'nodes' });
  }
  const out: NewTrigger[] = [];
  for (const node of nodes) {
    const kind = registry.get(node.subtype);
    if (!kind) {
      throw appError(
        'SCHED_UNKNOWN_TRIGGER_SUBTYPE',
        `node ${node.nodeId}: trigger subtype ${JSON.stringify(node.subtype)} is not one of ${registry.ids().join(', ')}`,
        { node_id: node.nodeId, field: 'subtype' },
      );
    }
    const ctx = { workflowId, nodeId: node.nodeId, defaultTimezone };
    const { resume_mode: rawMode, ...rawConfig } = node.config;
    let resumeMode: ResumeMode = kind.resumeModes[0];
    if (rawMode !== undefined && rawMode !== null && rawMode !== '') {
      if (
        !RESUME_MODES.includes(rawMode as ResumeMode) ||
        !kind.resumeModes.includes(rawMode as ResumeMode)
      ) {
        throw appError(
          'SCHED_INVALID_TRIGGER_CONFIG',
          `node ${node.nodeId}: resume_mode must be one of ${kind.resumeModes.join(', ')} for ${kind.id}`,
          { node_id: node.nodeId, field: 'resume_mode' },
        );
      }
      resumeMode = rawMode as ResumeMode;
    }
    let config: object;
    try {
      config = kind.parseConfig(rawConfig, ctx);
      if (kind.resolve)
        config = await kind.resolve(config, { ...ctx, userId: owner, services: opts.services() });
    } catch (err) {
      if (err instanceof ConfigFieldError) {
        throw new AppError(
          err.code ?? 'SCHED_INVALID_TRIGGER_CONFIG',
          `node ${node.nodeId}: ${err.field}: ${err.message}`,
          {
            details: { node_id: node.nodeId, field: err.field },
          },
        );
      }
      if (err instanceof AppError) {
        throw new AppError(
          err.code,
          err.message.startsWith('node ') ? err.message : `node ${node.nodeId}: ${err.message}`,
          {
            details: { node_id: node.nodeId, ...(err.details ?? {}) },
            cause: err,
          },
        );
      }
      throw err;
    }
    out.push({
      nodeId: node.nodeId,
      kind: kind.id,
      config,
      indexKey: kind.indexKey(config, ctx),
      enabled: node.enabled,
      resumeMode,
    });
  }
  // Unique keys may not repeat inside one workflow either.
  const seen = new Map<string, string>();
  for (const t of out) {
    const unique = registry.get(t.kind)?.uniqueIndexKey;
    if (!unique) continue;
    const k = `${t.kind}\u0000${t.indexKey}`;
    const other = seen.get(k);
    if (other) {
      throw new AppError(unique.code, `nodes ${other} and ${t.nodeId} both use ${t.indexKey}`, {
        details: { node_id: t.nodeId, field: 'index_key', index_key: t.indexKey },
      });
    }
    seen.set(k, t.nodeId);
  }
  return out;
}
