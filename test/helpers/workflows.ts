/** Workflow specifications for tests, in the contract's format (contract.md §1). */
export function workflowSpec(
  id: string,
  triggers: { id: string; subtype: string; configurations?: Record<string, unknown> }[],
  extra: { createdBy?: string } = {},
): Record<string, unknown> {
  return {
    metadata: { id, name: `wf_${id}`, created_time: 1730000000000, created_by: extra.createdBy ?? 'user-1' },
    nodes: [
      ...triggers.map((t, i) => ({
        id: t.id,
        name: `Trigger_${i}`,
        type: 'TRIGGER',
        subtype: t.subtype,
        configurations: t.configurations ?? {},
        position: { x: 0, y: i * 100 },
      })),
      { id: 'action_1', name: 'Action', type: 'ACTION', subtype: 'HTTP_REQUEST', configurations: {} },
    ],
    connections: triggers.map((t) => ({
      id: `c_${t.id}`,
      from_node: t.id,
      to_node: 'action_1',
      output_key: 'result',
    })),
    triggers: triggers.map((t) => t.id),
  };
}
