import { randomUUID } from 'node:crypto';
import { type Db, json, ts } from '../../src/db/db.js';
import { type CronConfig, parseCronConfig } from '../../src/triggers/cron/config.js';
import { expressionFor } from './common.js';

/**
 * Writes n deployed workflows with one CRON trigger each straight into the tables (what n deploys would
 * leave behind), in chunks of multi-row INSERTs. The configuration is the normalised one parseCronConfig
 * produces (checked on a sample of the expressions).
 */
export async function insertSchedules(
  db: Db,
  o: { n: number; distinct: number; jitterSeconds: number; yearly?: boolean; prefix: string; now: number },
): Promise<void> {
  const ctx = { workflowId: 'bench', nodeId: 'cron_1', defaultTimezone: 'UTC' };
  const config = (i: number): CronConfig => ({
    cron_expression: expressionFor(i, o.distinct, o.yearly),
    timezone: 'UTC',
    jitter_seconds: o.jitterSeconds,
    catchup_window_seconds: 3600,
    catchup_policy: 'latest',
    overlap_policy: 'allow',
    dst_policy: { gap: 'shift', overlap: 'first' },
    max_missed_runs: 3,
  });
  for (let i = 0; i < Math.min(o.n, 200); i++) {
    const parsed = parseCronConfig(
      { cron_expression: config(i).cron_expression, jitter_seconds: o.jitterSeconds },
      ctx,
    );
    if (JSON.stringify(parsed) !== JSON.stringify(config(i)))
      throw new Error(`config shape differs for ${i}`);
  }
  const now = ts(o.now);
  const CHUNK = 5_000;
  for (let start = 0; start < o.n; start += CHUNK) {
    const rows: { id: string; wf: string; config: CronConfig; key: string }[] = [];
    for (let i = start; i < Math.min(o.n, start + CHUNK); i++) {
      const c = config(i);
      rows.push({
        id: randomUUID(),
        wf: `${o.prefix}-${String(i).padStart(6, '0')}`,
        config: c,
        key: c.cron_expression,
      });
    }
    await db.tx(async (q) => {
      await q.query(
        `INSERT INTO workflows (id, user_id, name, spec, deployment_status, version, active_version, deployed_at,
           deployed_by, created_at, updated_at)
         SELECT x.wf, 'bench', x.wf, '{}'::jsonb, 'DEPLOYED', 1, 1, $2, 'bench', $2, $2
         FROM jsonb_to_recordset($1::jsonb) AS x(wf text)`,
        [json(rows.map((r) => ({ wf: r.wf }))), now],
      );
      await q.query(
        `INSERT INTO trigger_index (id, workflow_id, trigger_node_id, trigger_subtype, trigger_config, index_key,
           deployment_status, enabled, resume_mode, workflow_version, created_at, updated_at)
         SELECT x.id, x.wf, 'cron_1', 'CRON', x.config, x.key, 'active', true, 'never', 1, $2, $2
         FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, wf text, config jsonb, key text)`,
        [json(rows), now],
      );
    });
  }
}
