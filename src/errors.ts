import { HIL_ERRORS } from './hil/errors.js';

/**
 * The error catalogue. Every error the service returns or stops on has a stable code listed here and in
 * docs/errors.md (test/errors.test.ts checks both directions). Kinds add their own codes through
 * `kindErrors` in their folder, merged below, so the catalogue stays one table.
 */
export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
}

export const CORE_ERRORS = {
  SCHED_CONFIG_INVALID: { status: 500, message: 'Invalid configuration' },
  SCHED_DATA_DIR_LOCKED: { status: 500, message: 'The data directory is in use by another process' },
  SCHED_INTERNAL: { status: 500, message: 'Internal error' },
  SCHED_DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unavailable' },
  SCHED_SHUTTING_DOWN: { status: 503, message: 'The service is shutting down' },
  SCHED_NOT_FOUND: { status: 404, message: 'Route not found' },
  SCHED_UNAUTHORIZED: { status: 401, message: 'Missing or invalid credentials' },
  SCHED_FORBIDDEN: { status: 403, message: 'Not allowed for this caller' },
  SCHED_INVALID_JSON: { status: 400, message: 'The request body is not valid JSON' },
  SCHED_VALIDATION: { status: 400, message: 'The request is invalid' },
  SCHED_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type' },
  SCHED_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  SCHED_UNSUPPORTED_PAYLOAD: { status: 400, message: 'The payload cannot be stored' },
  SCHED_WORKFLOW_NOT_FOUND: { status: 404, message: 'Workflow not found' },
  SCHED_WORKFLOW_ID_MISMATCH: {
    status: 400,
    message: 'metadata.id does not match the workflow id in the path',
  },
  SCHED_INVALID_WORKFLOW: { status: 400, message: 'The workflow specification is invalid' },
  SCHED_NO_TRIGGERS: { status: 400, message: 'The workflow has no TRIGGER node' },
  SCHED_UNKNOWN_TRIGGER_SUBTYPE: { status: 400, message: 'Unknown trigger subtype' },
  SCHED_INVALID_TRIGGER_CONFIG: { status: 400, message: 'Invalid trigger configuration' },
  SCHED_OWNER_REQUIRED: { status: 400, message: 'The workflow owner cannot be determined' },
  SCHED_NO_STORED_SPEC: { status: 404, message: 'No stored workflow specification to deploy' },
  SCHED_DEPLOY_IN_PROGRESS: { status: 409, message: 'Another deployment of this workflow is in progress' },
  SCHED_TRIGGER_RESOLUTION_FAILED: { status: 502, message: 'A trigger could not be resolved at deploy time' },
  SCHED_WORKFLOW_NOT_DEPLOYED: { status: 409, message: 'The workflow is not deployed' },
  SCHED_TRIGGER_NOT_FOUND: { status: 404, message: 'Trigger not found' },
  SCHED_TRIGGER_DISABLED: { status: 409, message: 'The trigger is disabled' },
  SCHED_AMBIGUOUS_TRIGGER: { status: 400, message: 'Several triggers match; name one' },
  SCHED_EVENT_NOT_FOUND: { status: 404, message: 'Event not found' },
  SCHED_DISPATCH_NOT_FOUND: { status: 404, message: 'Dispatch not found' },
  SCHED_DISPATCH_NOT_DEAD: { status: 409, message: 'Only dead dispatches can be replayed' },
  // Outcomes of engine calls, stored in dispatches.last_error_code.
  SCHED_ENGINE_UNREACHABLE: { status: 502, message: 'The workflow engine could not be reached' },
  SCHED_ENGINE_TIMEOUT: { status: 504, message: 'The workflow engine did not answer in time' },
  SCHED_ENGINE_SERVER_ERROR: { status: 502, message: 'The workflow engine answered with a server error' },
  SCHED_ENGINE_RATE_LIMITED: { status: 429, message: 'The workflow engine asked us to slow down' },
  SCHED_ENGINE_REJECTED: { status: 502, message: 'The workflow engine rejected the request' },
  SCHED_ENGINE_EXECUTION_FAILED: { status: 502, message: 'The workflow engine reported success:false' },
  SCHED_ENGINE_BAD_RESPONSE: { status: 502, message: 'The workflow engine answered with an unreadable body' },
  SCHED_RESUME_NOT_FOUND: { status: 404, message: 'The engine had no paused execution to resume (HTTP 404)' },
  SCHED_TRIGGER_INACTIVE: {
    status: 409,
    message: 'The trigger was paused or undeployed before the tick was due; the engine was not called',
  },
} as const satisfies Record<string, ErrorSpec>;

export type CoreErrorCode = keyof typeof CORE_ERRORS;

/** Every code, core and per kind. Filled by registerErrors() from the kind registry at import time. */
// Areas that are not trigger kinds (human-in-the-loop) list their codes in their own folder.
const catalogue = new Map<string, ErrorSpec>([...Object.entries(CORE_ERRORS), ...Object.entries(HIL_ERRORS)]);

export function registerErrors(errors: Record<string, ErrorSpec>): void {
  for (const [code, spec] of Object.entries(errors)) {
    const existing = catalogue.get(code);
    if (existing && existing !== spec) throw new Error(`error code ${code} registered twice`);
    catalogue.set(code, spec);
  }
}

export function errorCatalogue(): ReadonlyMap<string, ErrorSpec> {
  return catalogue;
}

export interface ErrorDetails {
  /** The workflow node the error is about. */
  node_id?: string;
  /** The offending field, as a dotted path. */
  field?: string;
  [key: string]: unknown;
}

/** An error with a stable code, an HTTP status and a message for the caller. */
export class AppError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details: ErrorDetails | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: string,
    message?: string,
    opts: { details?: ErrorDetails; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    const spec = catalogue.get(code);
    if (!spec) throw new Error(`unknown error code ${code}`);
    super(message ?? spec.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    this.code = code;
    this.statusCode = spec.status;
    this.details = opts.details;
    this.headers = opts.headers;
  }

  toJSON(): Record<string, unknown> {
    return {
      statusCode: this.statusCode,
      code: this.code,
      error: httpReason(this.statusCode),
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

export function appError(
  code: CoreErrorCode,
  message?: string,
  details?: ErrorDetails,
  extra: { cause?: unknown; headers?: Record<string, string> } = {},
): AppError {
  return new AppError(code, message, { details, ...extra });
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function httpReason(status: number): string {
  return REASONS[status] ?? 'Error';
}

/** PostgreSQL SQLSTATE of a driver error (pg and PGlite both expose `code`). */
export function sqlState(err: unknown): string | undefined {
  if (
    err &&
    typeof err === 'object' &&
    'code' in err &&
    typeof err.code === 'string' &&
    /^[0-9A-Z]{5}$/.test(err.code)
  ) {
    return err.code;
  }
  return undefined;
}

export const SQLSTATE = {
  uniqueViolation: '23505',
  untranslatableCharacter: '22P05',
  invalidTextRepresentation: '22P02',
  characterNotInRepertoire: '22021',
} as const;
