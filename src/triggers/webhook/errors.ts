export const WEBHOOK_ERRORS = {
  SCHED_WEBHOOK_PATH_TAKEN: { status: 409, message: 'The webhook path is already used by another workflow' },
  SCHED_WEBHOOK_NOT_FOUND: { status: 404, message: 'No webhook is registered at this path' },
  SCHED_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed for this webhook' },
  SCHED_WEBHOOK_AUTH_FAILED: { status: 401, message: 'Webhook authentication failed' },
};
