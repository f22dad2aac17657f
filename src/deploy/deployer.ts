import type { Clock } from '../clock.js';
import { type Db, ts } from '../db/db.js';
import { addHistory } from '../db/history.sql.js';
import { deleteTriggers, findKeyOwners, type NewTrigger, replaceTriggers } from '../db/triggers.sql.js';
import {
  beginDeploy,
  failStaleDeploys,
  getWorkflow,
  markDeployed,
  markFailed,
  markUndeployed,
  type WorkflowRecord,
} from '../db/workflows.sql.js';
import { AppError, appError, SQLSTATE, sqlState } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Services } from '../services.js';
import type { Registry } from '../triggers/registry.js';
import type { ResumeMode } from '../triggers/types.js';
import { prepareTriggers } from './prepare.js';

export const TRIGGER_CHANGES_CHANNEL = 'scheduler_trigger_changes';

export interface DeploymentResult {
  deployment_id: string;
  workflow_id: string;
  status: string;
  version: number;
  message: string;
  created_at: string;
  triggers: {
    node_id: string;
    subtype: string;
    index_key: string;
    enabled: boolean;
    resume_mode: ResumeMode;
  }[];
}

/** A deploy that failed validation or registration; its status and history row are already written. */
export class DeploymentFailed extends AppError {}

/**
 * Deploy and undeploy. A deploy is recorded (DEPLOYING, history) in one transaction, validated and
 * resolved outside any transaction (resolution may call provider APIs), then its triggers replace the
 * old ones in a second transaction. When anything fails, that second transaction never commits: the
 * previous version's triggers stay as they were, and the workflow says DEPLOYMENT_FAILED with the reason.
 */
export class Deployer {
  constructor(
    private readonly deps: {
      db: Db;
      clock: Clock;
      registry: Registry;
      logger: Logger;
      defaultTimezone: string;
      /** Tells this process's listeners at once; other replicas hear the NOTIFY. */
      onTriggersChanged: (workflowId: string) => void;
      services: () => Services;
    },
  ) {}

  async deploy(opts: {
    workflowId: string;
    spec: unknown;
    actingUserId: string | null;
    scopeUserId: string | undefined;
  }): Promise<DeploymentResult> {
    const { db, clock } = this.deps;
    const { workflowId } = opts;
    const existing = await getWorkflow(db, workflowId);
    if (existing && opts.scopeUserId !== undefined && existing.userId !== opts.scopeUserId) {
      throw appError('SCHED_WORKFLOW_NOT_FOUND', `workflow ${workflowId} not found`);
    }
    let spec = opts.spec;
    if (spec === undefined || spec === null) {
      if (!existing) {
        throw appError(
          'SCHED_NO_STORED_SPEC',
          `workflow ${workflowId} has no stored specification; send workflow_spec`,
        );
      }
      spec = existing.spec;
    }
    const metadata = isObject(spec) && isObject(spec.metadata) ? spec.metadata : {};
    const createdBy =
      typeof metadata.created_by === 'string' && metadata.created_by ? metadata.created_by : null;
    const owner = existing?.userId ?? opts.actingUserId ?? createdBy;
    if (!owner) {
      throw appError(
        'SCHED_OWNER_REQUIRED',
        'no owner: authenticate as a user, send X-User-Id as a service caller, or set metadata.created_by',
      );
    }
    const actor = opts.actingUserId ?? owner;
    const name = typeof metadata.name === 'string' ? metadata.name : (existing?.name ?? '');
    const specObject = isObject(spec) ? spec : { invalid_spec: spec };
    const fromStatus = existing?.status ?? 'UNDEPLOYED';
    const action = existing?.activeVersion ? 'UPDATE' : 'DEPLOY';
    const version = (existing?.version ?? 0) + 1;

    const startedAt = ts(clock.now());
    const historyId = await db.tx(async (q) => {
      const locked = await getWorkflow(q, workflowId, true);
      if (locked?.status === 'DEPLOYING' && Date.parse(locked.updatedAt) > clock.now() - 120_000) {
        throw appError(
          'SCHED_DEPLOY_IN_PROGRESS',
          `workflow ${workflowId} is being deployed right now; retry shortly`,
        );
      }
      await beginDeploy(q, { id: workflowId, userId: owner, name, spec: specObject, now: startedAt });
      return addHistory(q, {
        workflowId,
        action: `${action}_STARTED`,
        fromStatus,
        toStatus: 'DEPLOYING',
        version,
        config: specObject,
        triggeredBy: actor,
        startedAt,
      });
    });
    const deploymentId = `deploy_${historyId}`;

    try {
      const triggers = await prepareTriggers(spec, {
        workflowId,
        owner,
        registry: this.deps.registry,
        defaultTimezone: this.deps.defaultTimezone,
        services: this.deps.services,
      });
      await db.tx(async (q) => {
        const locked = await getWorkflow(q, workflowId, true);
        if (locked?.status !== 'DEPLOYING') {
          throw appError(
            'SCHED_DEPLOY_IN_PROGRESS',
            'the workflow changed while it was being deployed; retry',
          );
        }
        await this.checkUniqueKeys(q, workflowId, triggers);
        const now = ts(clock.now());
        await replaceTriggers(q, workflowId, version, triggers, now);
        await markDeployed(q, { id: workflowId, version, by: actor, now });
        await addHistory(q, {
          workflowId,
          action: `${action}_COMPLETED`,
          fromStatus: 'DEPLOYING',
          toStatus: 'DEPLOYED',
          version,
          triggeredBy: actor,
          startedAt,
          completedAt: now,
          logs: {
            triggers: triggers.map((t) => ({ node_id: t.nodeId, subtype: t.kind, index_key: t.indexKey })),
          },
        });
        await q.query('SELECT pg_notify($1, $2)', [TRIGGER_CHANGES_CHANNEL, workflowId]);
      });
      this.deps.onTriggersChanged(workflowId);
      return {
        deployment_id: deploymentId,
        workflow_id: workflowId,
        status: 'DEPLOYED',
        version,
        message: `Workflow deployed with ${triggers.length} trigger(s)`,
        created_at: startedAt,
        triggers: triggers.map((t) => ({
          node_id: t.nodeId,
          subtype: t.kind,
          index_key: t.indexKey,
          enabled: t.enabled,
          resume_mode: t.resumeMode,
        })),
      };
    } catch (err) {
      const e = this.asAppError(err);
      const now = ts(clock.now());
      await db
        .tx(async (q) => {
          await markFailed(q, { id: workflowId, code: e.code, message: e.message, now });
          await addHistory(q, {
            workflowId,
            action: `${action}_FAILED`,
            fromStatus: 'DEPLOYING',
            toStatus: 'DEPLOYMENT_FAILED',
            version,
            triggeredBy: actor,
            startedAt,
            errorCode: e.code,
            errorMessage: e.message,
            logs: e.details ? { details: e.details } : undefined,
          });
        })
        .catch((recordErr) =>
          this.deps.logger.error(
            { err: recordErr, workflow_id: workflowId },
            'could not record a failed deploy',
          ),
        );
      throw new DeploymentFailed(e.code, e.message, {
        details: { ...(e.details ?? {}), deployment_id: deploymentId, workflow_id: workflowId },
        cause: err,
        ...(e.headers ? { headers: e.headers } : {}),
      });
    }
  }

  async undeploy(opts: {
    workflowId: string;
    actingUserId: string | null;
    scopeUserId: string | undefined;
  }): Promise<{
    message: string;
    workflow_id: string;
    removed_triggers: number;
  }> {
    const { db, clock } = this.deps;
    const result = await db.tx(async (q) => {
      const wf = await getWorkflow(q, opts.workflowId, true);
      if (!wf || (opts.scopeUserId !== undefined && wf.userId !== opts.scopeUserId)) {
        throw appError('SCHED_WORKFLOW_NOT_FOUND', `workflow ${opts.workflowId} not found`);
      }
      const now = ts(clock.now());
      const actor = opts.actingUserId ?? wf.userId;
      await addHistory(q, {
        workflowId: wf.id,
        action: 'UNDEPLOY_STARTED',
        fromStatus: wf.status,
        toStatus: 'DEPLOYING',
        version: wf.activeVersion,
        triggeredBy: actor,
        startedAt: now,
      });
      const removed = await deleteTriggers(q, wf.id);
      await markUndeployed(q, wf.id, now);
      await addHistory(q, {
        workflowId: wf.id,
        action: 'UNDEPLOY_COMPLETED',
        fromStatus: 'DEPLOYING',
        toStatus: 'UNDEPLOYED',
        version: wf.activeVersion,
        triggeredBy: actor,
        startedAt: now,
        completedAt: now,
        logs: { removed_triggers: removed },
      });
      await q.query('SELECT pg_notify($1, $2)', [TRIGGER_CHANGES_CHANNEL, wf.id]);
      return { removed, wasDeployed: wf.activeVersion !== null };
    });
    this.deps.onTriggersChanged(opts.workflowId);
    return {
      message: result.wasDeployed
        ? 'Workflow undeployed successfully'
        : 'Workflow was not deployed; nothing to remove',
      workflow_id: opts.workflowId,
      removed_triggers: result.removed,
    };
  }

  /** At start: deploys cut short by a crash are marked failed (their old triggers never stopped). */
  async recoverInterrupted(): Promise<string[]> {
    const { db, clock } = this.deps;
    // With embedded PGlite this process is the only one; on PostgreSQL another replica may be mid-deploy.
    const cutoff = db.dialect === 'pglite' ? clock.now() + 1 : clock.now() - 300_000;
    const ids = await failStaleDeploys(db, ts(cutoff), ts(clock.now()));
    for (const id of ids) {
      await addHistory(db, {
        workflowId: id,
        action: 'DEPLOY_FAILED',
        fromStatus: 'DEPLOYING',
        toStatus: 'DEPLOYMENT_FAILED',
        startedAt: ts(clock.now()),
        errorCode: 'SCHED_INTERNAL',
        errorMessage: 'the deployment was interrupted (process stopped)',
      });
    }
    return ids;
  }

  private async checkUniqueKeys(
    q: Parameters<typeof findKeyOwners>[0],
    workflowId: string,
    triggers: NewTrigger[],
  ) {
    for (const kind of this.deps.registry.all()) {
      if (!kind.uniqueIndexKey) continue;
      const mine = triggers.filter((t) => t.kind === kind.id);
      const taken = await findKeyOwners(
        q,
        kind.id,
        mine.map((t) => t.indexKey),
        workflowId,
      );
      const clash = taken[0];
      if (clash) {
        const node = mine.find((t) => t.indexKey === clash.indexKey);
        throw new AppError(
          kind.uniqueIndexKey.code,
          `node ${node?.nodeId}: ${clash.indexKey} is already used by another workflow`,
          {
            details: { node_id: node?.nodeId, field: 'index_key', index_key: clash.indexKey },
          },
        );
      }
    }
  }

  private asAppError(err: unknown): AppError {
    if (err instanceof AppError) return err;
    if (sqlState(err) === SQLSTATE.uniqueViolation) {
      // Two deploys raced for the same unique key; the loser hears it as a conflict.
      const kind = this.deps.registry.all().find((k) => k.uniqueIndexKey);
      if (kind?.uniqueIndexKey)
        return new AppError(
          kind.uniqueIndexKey.code,
          'a trigger key was taken by another workflow meanwhile',
        );
    }
    this.deps.logger.error({ err }, 'deploy failed unexpectedly');
    return appError('SCHED_INTERNAL', 'the deployment failed unexpectedly', undefined, { cause: err });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export type { WorkflowRecord };
