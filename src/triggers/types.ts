import type { FastifyInstance } from 'fastify';
import type { ZodType } from 'zod';
import type { Queryable } from '../db/db.js';
import type { AppError, ErrorSpec } from '../errors.js';
import type { Services } from '../services.js';

export const RESUME_MODES = ['never', 'latest', 'correlated'] as const;
export type ResumeMode = (typeof RESUME_MODES)[number];

export const TRIGGER_STATUSES = ['active', 'inactive', 'pending', 'failed'] as const;
export type TriggerStatus = (typeof TRIGGER_STATUSES)[number];

/** A row of trigger_index as the router and the kinds see it. */
export interface TriggerRow<C extends object = object> {
  id: string;
  workflowId: string;
  nodeId: string;
  kind: string;
  config: C;
  indexKey: string;
  enabled: boolean;
  status: TriggerStatus;
  resumeMode: ResumeMode;
  userId: string;
  workflowVersion: number;
}

/** What an ingress hands to the pipeline: a normalised event with its idempotency key. */
export interface InboundEvent {
  kind: string;
  /** Unique across all kinds (kinds prefix their keys); a second event with the same key is a duplicate. */
  idempotencyKey: string;
  /** The coarse key of phase one (webhook path, repository, workspace …). */
  indexKey: string;
  /** The normalised event, stored in the inbox; the base of the engine's trigger_data. */
  payload: Record<string, unknown>;
  receivedAt: number;
  /** Notes stored with the event (e.g. why changed files could not be fetched). */
  meta?: Record<string, unknown>;
  /** Request material needed while routing but never stored (raw body for per-trigger signatures). */
  transient?: unknown;
}

export type MatchDecision =
  | { matched: true /** Per-trigger additions to trigger_data. */; triggerData?: Record<string, unknown> }
  | { matched: false /** The first rule that decided, for explain records. */; reason: string };

export interface ConfigContext {
  workflowId: string;
  nodeId: string;
  /** SCHEDULER_TIMEZONE */
  defaultTimezone: string;
}

export interface ResolveContext extends ConfigContext {
  /** The acting owner of the workflow. */
  userId: string;
  services: Services;
}

/** Long-lived work of a kind (scheduler loop, mailbox listeners); started and stopped with the process. */
export interface KindRuntime {
  /**
   * Loads what the runtime needs from the database. The dispatcher's first poll of the outbox waits until
   * every runtime has started: a runtime connecting to remote servers does that in the background.
   */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Triggers of a workflow changed (deploy, undeploy, pause) on this or another replica. */
  onTriggersChanged?(workflowId: string): Promise<void> | void;
  /** Facts for /health/detailed. */
  health?(): Record<string, unknown>;
}

/**
 * One trigger kind. Each lives in src/triggers/<kind>/ and is listed once in registry.ts; nothing else
 * branches on the kind. Members are methods so a TriggerKind<Specific> fits the registry's TriggerKind.
 */
export interface TriggerKind<C extends object = object> {
  readonly id: string;
  /** Human summary for /api/v1/triggers/types. */
  readonly description: string;
  /** Resume modes the kind allows, the first being the default (CRON: only 'never'). */
  readonly resumeModes: readonly [ResumeMode, ...ResumeMode[]];
  /** When set, an index key may belong to one workflow only; a clash fails the deploy with this code (409). */
  readonly uniqueIndexKey?: { code: string };
  /** Error codes of this kind, merged into the catalogue. */
  readonly errors?: Record<string, ErrorSpec>;
  /** Validates and normalises node configurations (schema objects already unwrapped). */
  parseConfig(raw: Record<string, unknown>, ctx: ConfigContext): C;
  /** Deploy-time resolution that needs I/O (ids from provider APIs). Throws AppError. */
  resolve?(config: C, ctx: ResolveContext): Promise<C>;
  indexKey(config: C, ctx: ConfigContext): string;
  /** Phase two of routing: the detailed filter. Pure. */
  match(config: C, event: InboundEvent, trigger: TriggerRow<C>): MatchDecision;
  /**
   * Rejects an event before it is stored, given the triggers found under its index key (a webhook's
   * method and per-trigger authentication). Returning an error answers the request with it.
   */
  admit?(event: InboundEvent, candidates: readonly TriggerRow<C>[]): AppError | undefined;
  /** The configuration as the API shows it: secrets removed. */
  publicConfig?(config: C): Record<string, unknown>;
  registerRoutes?(app: FastifyInstance, services: Services): void | Promise<void>;
  /**
   * Deletes up to `limit` of the kind's own records of deliveries (kept beside their events) older than
   * `before`, the event retention's cut-off; returns how many. Called until it returns less than `limit`.
   */
  purge?(q: Queryable, before: string, limit: number): Promise<number>;
  createRuntime?(services: Services): KindRuntime;
  /**
   * Kind-specific parts of GET …/triggers/{node_id} (a schedule's next and last fires, counters). The
   * result's top-level keys are the kind's own and are described by describeSchema (OpenAPI).
   */
  describe?(
    trigger: TriggerRow<C>,
    services: Services,
    opts: { limit: number },
  ): Promise<Record<string, unknown>>;
  readonly describeSchema?: { readonly properties: Record<string, unknown> };
}

/** Thrown by parseConfig; the deployer adds the node id and answers SCHED_INVALID_TRIGGER_CONFIG. */
export class ConfigFieldError extends Error {
  readonly field: string;
  readonly code: string | undefined;
  constructor(field: string, message: string, code?: string) {
    super(message);
    this.name = 'ConfigFieldError';
    this.field = field;
    this.code = code;
  }
}

/** Parses with a zod schema, turning the first issue into a ConfigFieldError that names the field. */
export function parseWith<T>(schema: ZodType<T>, raw: unknown, code?: string): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.length ? issue.path.map(String).join('.') : '(configuration)';
  throw new ConfigFieldError(field, issue?.message ?? 'invalid', code);
}

export function defineKind<C extends object>(kind: TriggerKind<C>): TriggerKind<C> {
  return kind;
}
