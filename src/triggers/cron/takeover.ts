import { findEventIdsByKeys } from '../../db/events.sql.js';
import { listTriggersOfWorkflow } from '../../db/triggers.sql.js';
import type { Services } from '../../services.js';
import type { CronConfig } from './config.js';
import type { Firer } from './firing.js';
import { type FireItem, idempotencyKey } from './payload.js';
import { type FinishRow, finishFires, takeOverOrphans } from './store.js';

/**
 * Claims whose owner did not finish them within the lease (a replica killed or stalled between claim and
 * outcome): those whose event is stored are marked fired; the others are stored now, through the same
 * delivery as a fresh claim. The event's idempotency key keeps a late original owner from storing twice.
 */
export async function takeOverExpiredClaims(
  s: Services,
  firer: Firer,
  opts: { all?: boolean } = {},
): Promise<number> {
  const { db, clock, instanceId, config } = s;
  const now = clock.now();
  const rows = await takeOverOrphans(db, {
    now,
    by: instanceId,
    leaseUntil: now + config.cron.claimLeaseMs,
    limit: 500,
    all: opts.all === true,
  });
  if (rows.length === 0) return 0;
  const stored = await findEventIdsByKeys(db, rows.map(idempotencyKey));
  const finish: FinishRow[] = [];
  const todo: FireItem[] = [];
  const triggers = new Map<string, Awaited<ReturnType<typeof listTriggersOfWorkflow>>>();
  for (const r of rows) {
    const eventId = stored.get(idempotencyKey(r));
    if (eventId) {
      finish.push({ ...r, outcome: 'fired', reason: null, eventId, firedAt: now });
      continue;
    }
    let list = triggers.get(r.workflowId);
    if (!list) {
      list = await listTriggersOfWorkflow(db, r.workflowId);
      triggers.set(r.workflowId, list);
    }
    const t = list.find((x) => x.nodeId === r.nodeId && x.kind === 'CRON');
    if (!t) {
      const reason = 'the trigger was removed before the fire was stored';
      finish.push({ ...r, outcome: 'dropped', reason, eventId: null, firedAt: null });
      continue;
    }
    const c = t.config as CronConfig;
    todo.push({
      ...r,
      triggerId: t.id,
      expression: c.cron_expression,
      timezone: c.timezone,
      jitter: r.source === 'schedule' ? r.effective - r.nominal : 0,
      overlapSkip: c.overlap_policy === 'skip' && r.source !== 'run_now',
    });
  }
  await finishFires(db, finish);
  if (todo.length) await firer.deliver(todo);
  await firer.flushFinishes();
  s.logger.info({ fires: rows.length }, 'cron: took over fires whose claim had expired');
  return rows.length;
}
