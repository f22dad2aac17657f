import type { FastifyInstance } from 'fastify';
import { ts } from '../../db/db.js';
import { dispatchStats } from '../../db/dispatches.sql.js';
import { countTriggersByKind } from '../../db/triggers.sql.js';
import { countWorkflowsByStatus } from '../../db/workflows.sql.js';
import type { Services } from '../../services.js';
import { VERSION } from '../app.js';
import { looseObject } from '../schemas.js';

const HEALTH_TIMEOUT_MS = 2_000;

async function pingDb(s: Services): Promise<{ ok: boolean; latency_ms: number; error?: string }> {
  const started = performance.now();
  try {
    await Promise.race([
      s.db.query('SELECT 1'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), HEALTH_TIMEOUT_MS).unref()),
    ]);
    return { ok: true, latency_ms: Math.round((performance.now() - started) * 100) / 100 };
  } catch (err) {
    return { ok: false, latency_ms: Math.round(performance.now() - started), error: (err as Error).message };
  }
}

export function registerHealthRoutes(app: FastifyInstance, s: Services): void {
  const ops = { tags: ['operations'], security: [] };

  app.get('/', { schema: { ...ops, summary: 'Service identity' } }, async () => ({
    service: 'workflow_scheduler',
    version: VERSION,
    status: 'running',
  }));

  app.get(
    '/health',
    {
      schema: {
        ...ops,
        summary: 'Liveness and database reachability (503 when the database is unreachable)',
        response: {
          200: looseObject,
          503: looseObject,
        },
      },
    },
    async (_request, reply) => {
      const db = await pingDb(s);
      if (!db.ok) {
        return reply.code(503).send({
          service: 'workflow_scheduler',
          status: 'unhealthy',
          version: VERSION,
          error: `database: ${db.error}`,
        });
      }
      return { service: 'workflow_scheduler', status: 'healthy', version: VERSION };
    },
  );

  app.get(
    '/health/detailed',
    {
      schema: {
        ...ops,
        summary: 'Database, lock manager, triggers by kind, dispatch backlog and dead letters',
        response: { 200: looseObject, 503: looseObject },
      },
    },
    async (_request, reply) => {
      const [db, locks] = await Promise.all([pingDb(s), s.locks.health()]);
      let triggers: Record<string, unknown> = {};
      let dispatch: Record<string, unknown> = {};
      if (db.ok) {
        const now = s.clock.now();
        const [byKind, stats] = await Promise.all([countTriggersByKind(s.db), dispatchStats(s.db, ts(now))]);
        triggers = byKind;
        dispatch = {
          pending: stats.pending,
          due: stats.due,
          in_flight: stats.inFlight,
          dead: stats.dead,
          oldest_due_age_seconds: stats.oldestDueAt
            ? Math.max(0, Math.round((now - Date.parse(stats.oldestDueAt)) / 1000))
            : 0,
          this_process: s.dispatcher.stats(),
        };
      }
      const body = {
        service: 'workflow_scheduler',
        status: db.ok ? 'healthy' : 'unhealthy',
        version: VERSION,
        instance_id: s.instanceId,
        uptime_seconds: s.metrics.uptimeSeconds(),
        components: {
          database: { dialect: s.db.dialect, ...db },
          // Locks only cut contention, so a lock server outage degrades but does not fail the service.
          lock_manager: locks,
          triggers,
          dispatch,
          runtimes: s.runtimes.health(),
          maintenance: s.maintenance.health(),
          auth: { mode: s.auth.mode },
        },
      };
      return reply.code(db.ok ? 200 : 503).send(body);
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        ...ops,
        summary: "Service metrics as JSON (the design's shape, extended)",
        response: { 200: looseObject },
      },
    },
    async () => {
      const now = s.clock.now();
      const [byKind, byStatus, stats] = await Promise.all([
        countTriggersByKind(s.db),
        countWorkflowsByStatus(s.db),
        dispatchStats(s.db, ts(now)),
      ]);
      const triggerTypes = Object.fromEntries(Object.entries(byKind).map(([k, v]) => [k, v.total]));
      const counters = await s.metrics.registry.getMetricsAsJSON();
      const sum = (name: string) =>
        counters.find((m) => m.name === name)?.values.reduce((n, v) => n + Number(v.value), 0) ?? 0;
      return {
        service: 'workflow_scheduler',
        version: VERSION,
        uptime: s.metrics.uptimeSeconds(),
        total_workflows: Object.values(byStatus).reduce((a, b) => a + b, 0),
        workflows_by_status: byStatus,
        total_triggers: Object.values(triggerTypes).reduce((a, b) => a + b, 0),
        trigger_types: triggerTypes,
        events: {
          received: sum('scheduler_events_received_total'),
          duplicates: sum('scheduler_events_duplicate_total'),
          rejected: sum('scheduler_events_rejected_total'),
        },
        dispatch: { pending: stats.pending, due: stats.due, in_flight: stats.inFlight, dead: stats.dead },
      };
    },
  );

  app.get(
    '/metrics/prometheus',
    { schema: { ...ops, summary: 'Prometheus text exposition' } },
    async (_request, reply) => {
      reply.header('content-type', s.metrics.registry.contentType);
      return s.metrics.registry.metrics();
    },
  );
}
