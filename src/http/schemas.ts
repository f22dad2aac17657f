import { WORKFLOW_ID_PATTERN } from '../workflow/spec.js';

/** JSON schemas shared by routes (they also feed the OpenAPI document). */
export const errorSchema = {
  type: 'object',
  description: 'Error (Fastify shape plus details); codes are listed in docs/errors.md',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
  },
  required: ['statusCode', 'code', 'error', 'message'],
} as const;

export function errorResponses(...statuses: number[]): Record<number, typeof errorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorSchema]));
}

export const workflowIdParam = {
  type: 'object',
  properties: { workflow_id: { type: 'string', pattern: WORKFLOW_ID_PATTERN, description: 'Workflow id' } },
  required: ['workflow_id'],
} as const;

/** The last failed engine call of a dispatch (and of the wait it resumes): stable code, message, HTTP status. */
export const lastErrorSchema = {
  type: ['object', 'null'],
  properties: {
    code: { type: 'string' },
    message: { type: 'string' },
    http_status: { type: ['integer', 'null'] },
  },
} as const;

export const looseObject = { type: 'object', additionalProperties: true } as const;

export function headerValue(h: string | string[] | undefined, max = 200): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined || v === '' ? undefined : v.slice(0, max);
}
