import { readFileSync } from 'node:fs';
import path from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import { AppError, appError, httpReason, SQLSTATE, sqlState } from '../errors.js';
import { registerHilRoutes } from '../hil/routes.js';
import { registerIntegrationRoutes } from '../integrations/index.js';
import { projectRoot } from '../paths.js';
import type { Services } from '../services.js';
import { registerDeploymentRoutes } from './routes/deployment.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerTriggerRoutes } from './routes/triggers.js';

export const VERSION: string = JSON.parse(
  readFileSync(path.join(projectRoot(), 'package.json'), 'utf8'),
).version;

/** Builds the HTTP application over ready services; main.ts alone calls listen(). */
export async function buildApp(s: Services): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: s.logger as FastifyBaseLogger,
    // One line per request at debug (onResponse below) instead of Fastify's two at info.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: s.config.trustProxy,
    bodyLimit: 1_048_576,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false } },
  });

  app.addHook('onResponse', async (request, reply) => {
    const level = reply.statusCode >= 500 ? 'error' : 'debug';
    // Hot path: build nothing unless the line will be written.
    if (!s.logger.isLevelEnabled(level)) return;
    request.log[level](
      {
        method: request.method,
        url: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  // An empty body on a JSON request means "no body" (deploy without a body redeploys the stored spec).
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.trim() === '') return done(null, null);
    defaultJson(request, text, done);
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const e = toAppError(err);
    if (e.statusCode >= 500) request.log.error({ err }, 'request failed');
    if (e.headers) reply.headers(e.headers);
    return reply.code(e.statusCode).send(e.toJSON());
  });
  app.setNotFoundHandler((request, reply) => {
    const e = appError('SCHED_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`);
    return reply.code(404).send(e.toJSON());
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'workflow-scheduler',
        version: VERSION,
        description:
          'Trigger management and scheduling core: deploys workflows, indexes their triggers, receives events ' +
          'and delivers them durably to the workflow engine. Errors: docs/errors.md.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'SCHEDULER_API_KEY (service caller; may send X-User-Id) or a user JWT',
          },
        },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'deployment', description: 'Deploy, undeploy and inspect workflows' },
        { name: 'triggers', description: 'Manual runs and trigger state' },
        { name: 'events', description: 'The event inbox and the dispatch outbox' },
        { name: 'webhooks', description: 'Public ingress' },
        { name: 'hil', description: 'Human-in-the-loop waits (correlated resume)' },
        { name: 'operations', description: 'Health and metrics' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  registerHealthRoutes(app, s);
  registerDeploymentRoutes(app, s);
  registerEventRoutes(app, s);
  registerTriggerRoutes(app, s);
  registerIntegrationRoutes(app, s);
  registerHilRoutes(app, s);
  for (const kind of s.registry.all()) await kind.registerRoutes?.(app, s);
  return app;
}

/** Maps anything thrown in a request to the catalogue. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const fe = err as Partial<FastifyError> & { validationContext?: string };
  if (fe.validation) {
    const v = fe.validation[0];
    const missing = (v?.params as { missingProperty?: string } | undefined)?.missingProperty;
    const extra = (v?.params as { additionalProperty?: string } | undefined)?.additionalProperty;
    const where = `${fe.validationContext ?? 'request'}${v?.instancePath ?? ''}`.replace(/\//g, '.');
    const field = missing ? `${where}.${missing}` : extra ? `${where}.${extra}` : where;
    const message = missing
      ? `${field} is required`
      : extra
        ? `${field} is not a known property`
        : `${field} ${v?.message ?? 'is invalid'}`;
    return appError('SCHED_VALIDATION', message, { field });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return appError('SCHED_BODY_TOO_LARGE', 'the request body is larger than this route accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return appError(
        'SCHED_UNSUPPORTED_MEDIA_TYPE',
        `content type ${fe.message?.split(': ')[1] ?? ''} is not accepted here`,
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return appError('SCHED_INVALID_JSON', 'the request body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return appError('SCHED_VALIDATION', 'Content-Length does not match the body');
    default:
      break;
  }
  if (err instanceof SyntaxError && fe.statusCode === 400)
    return appError('SCHED_INVALID_JSON', 'the request body is not valid JSON');
  const state = sqlState(err);
  if (state === SQLSTATE.untranslatableCharacter || state === SQLSTATE.characterNotInRepertoire) {
    return appError(
      'SCHED_UNSUPPORTED_PAYLOAD',
      'the payload holds a character PostgreSQL cannot store (\\u0000)',
    );
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return appError('SCHED_VALIDATION', fe.message ?? httpReason(fe.statusCode));
  }
  return appError('SCHED_INTERNAL', 'internal error', undefined, { cause: err });
}
