import { appError } from '../errors.js';

/**
 * The workflow JSON (contract.md §1): structural validation and trigger extraction. Kind-specific
 * configuration is validated by each kind; this module only finds the trigger nodes and unwraps values.
 */
export interface WorkflowNode {
  id: string;
  name?: string;
  type: string;
  subtype?: string;
  configurations: Record<string, unknown>;
  enabled?: boolean;
}

export interface WorkflowSpec {
  metadata: Record<string, unknown>;
  nodes: WorkflowNode[];
  connections: unknown;
  triggers: string[] | undefined;
  raw: Record<string, unknown>;
}

export interface TriggerNode {
  nodeId: string;
  subtype: string;
  /** Configuration with schema objects unwrapped; `enabled` removed (see `enabled`). */
  config: Record<string, unknown>;
  enabled: boolean;
}

export const WORKFLOW_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
const WORKFLOW_ID_RE = new RegExp(WORKFLOW_ID_PATTERN);

export function isValidWorkflowId(id: string): boolean {
  return WORKFLOW_ID_RE.test(id);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string, details: Record<string, unknown>) {
  return appError('SCHED_INVALID_WORKFLOW', message, details);
}

/** Validates the shape of a workflow (nodes, ids, connections, trigger list). Throws AppError. */
export function parseWorkflowSpec(input: unknown, workflowId: string): WorkflowSpec {
  if (!isObject(input)) throw invalid('workflow_spec must be a JSON object', { field: 'workflow_spec' });
  const metadata = input.metadata === undefined ? {} : input.metadata;
  if (!isObject(metadata)) throw invalid('metadata must be an object', { field: 'metadata' });
  if (metadata.id !== undefined && metadata.id !== null && String(metadata.id) !== workflowId) {
    throw appError(
      'SCHED_WORKFLOW_ID_MISMATCH',
      `metadata.id ${JSON.stringify(metadata.id)} does not match the workflow id ${JSON.stringify(workflowId)} in the path`,
      { field: 'metadata.id' },
    );
  }
  if (!Array.isArray(input.nodes) || input.nodes.length === 0) {
    throw invalid('nodes must be a non-empty array', { field: 'nodes' });
  }
  const nodes: WorkflowNode[] = [];
  const ids = new Set<string>();
  input.nodes.forEach((n, i) => {
    if (!isObject(n)) throw invalid(`nodes[${i}] must be an object`, { field: `nodes[${i}]` });
    if (typeof n.id !== 'string' || n.id.trim() === '') {
      throw invalid(`nodes[${i}].id must be a non-empty string`, { field: `nodes[${i}].id` });
    }
    if (ids.has(n.id)) throw invalid(`node id ${n.id} is used twice`, { node_id: n.id, field: 'id' });
    ids.add(n.id);
    if (typeof n.type !== 'string' || n.type === '') {
      throw invalid(`node ${n.id}: type must be a non-empty string`, { node_id: n.id, field: 'type' });
    }
    if (n.subtype !== undefined && n.subtype !== null && typeof n.subtype !== 'string') {
      throw invalid(`node ${n.id}: subtype must be a string`, { node_id: n.id, field: 'subtype' });
    }
    // Older workflows carry `parameters` instead of `configurations` (contract.md §1.2).
    const cfg = n.configurations ?? n.parameters ?? {};
    if (!isObject(cfg)) {
      throw invalid(`node ${n.id}: configurations must be an object`, {
        node_id: n.id,
        field: 'configurations',
      });
    }
    nodes.push({
      id: n.id,
      ...(typeof n.name === 'string' ? { name: n.name } : {}),
      type: n.type,
      ...(typeof n.subtype === 'string' ? { subtype: n.subtype } : {}),
      configurations: cfg,
      ...(typeof n.enabled === 'boolean' ? { enabled: n.enabled } : {}),
    });
  });
  const connections = input.connections ?? [];
  if (Array.isArray(connections)) {
    connections.forEach((c, i) => {
      if (!isObject(c)) throw invalid(`connections[${i}] must be an object`, { field: `connections[${i}]` });
      for (const end of ['from_node', 'to_node'] as const) {
        const ref = c[end];
        if (typeof ref !== 'string' || !ids.has(ref)) {
          throw invalid(`connections[${i}].${end} ${JSON.stringify(ref)} names no node of this workflow`, {
            field: `connections[${i}].${end}`,
          });
        }
      }
    });
  } else if (isObject(connections)) {
    // Legacy dict-style connections: keys are node ids (or names) in the old format.
    const names = new Set(nodes.map((n) => n.name).filter(Boolean));
    for (const from of Object.keys(connections)) {
      if (!ids.has(from) && !names.has(from)) {
        throw invalid(`connections.${from} names no node of this workflow`, { field: `connections.${from}` });
      }
    }
  } else {
    throw invalid('connections must be an array', { field: 'connections' });
  }
  let triggers: string[] | undefined;
  if (input.triggers !== undefined && input.triggers !== null) {
    if (!Array.isArray(input.triggers) || input.triggers.some((t) => typeof t !== 'string')) {
      throw invalid('triggers must be an array of node ids', { field: 'triggers' });
    }
    triggers = input.triggers as string[];
    for (const t of triggers) {
      const node = nodes.find((n) => n.id === t);
      if (!node) throw invalid(`triggers names ${t}, which is not a node`, { field: 'triggers', node_id: t });
      if (node.type !== 'TRIGGER') {
        throw invalid(`triggers names ${t}, which is a ${node.type} node, not a TRIGGER`, {
          field: 'triggers',
          node_id: t,
        });
      }
    }
  }
  return { metadata, nodes, connections, triggers, raw: input };
}

/** The trigger nodes: every node with type TRIGGER (the `triggers` list is checked, not relied on). */
export function extractTriggerNodes(spec: WorkflowSpec): TriggerNode[] {
  return spec.nodes
    .filter((n) => n.type === 'TRIGGER')
    .map((n) => {
      const config = unwrapConfig(n.configurations);
      // `enabled` inside configurations wins over a node-level `enabled` (contract.md §1.4).
      const inner = config.enabled;
      delete config.enabled;
      const enabled = typeof inner === 'boolean' ? inner : typeof n.enabled === 'boolean' ? n.enabled : true;
      return { nodeId: n.id, subtype: n.subtype ?? '', config, enabled };
    });
}

const SCHEMA_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object', 'json', 'enum']);
const SCHEMA_KEYWORDS = new Set([
  'type',
  'default',
  'value',
  'required',
  'description',
  'options',
  'enum',
  'enum_values',
  'min',
  'max',
  'minimum',
  'maximum',
  'sensitive',
  'multiline',
  'pattern',
  'display_name',
  'placeholder',
  'example',
  'examples',
  'items',
  'format',
]);

/**
 * Older stored workflows hold schema objects (`{"type":"string","default":"0 9 * * *"}`) instead of
 * values: use `value`, else `default`, else the empty value of the declared type.
 */
export function unwrapValue(v: unknown): unknown {
  if (!isObject(v)) return v;
  const keys = Object.keys(v);
  const looksLikeSchema =
    keys.length > 0 &&
    keys.every((k) => SCHEMA_KEYWORDS.has(k)) &&
    ('default' in v || 'value' in v || (typeof v.type === 'string' && SCHEMA_TYPES.has(v.type)));
  if (!looksLikeSchema) return v;
  if ('value' in v && v.value !== undefined) return v.value;
  if ('default' in v && v.default !== undefined) return v.default;
  switch (v.type) {
    case 'string':
    case 'enum':
      return '';
    case 'boolean':
      return false;
    case 'number':
    case 'integer':
      return 0;
    case 'array':
      return [];
    default:
      return {};
  }
}

export function unwrapConfig(cfg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) out[k] = unwrapValue(v);
  return out;
}
