export const SLACK_ERRORS = {
  SCHED_SLACK_NOT_CONFIGURED: {
    status: 503,
    message: 'Slack ingress is not configured (SLACK_SIGNING_SECRET is not set)',
  },
  SCHED_SLACK_SIGNATURE_INVALID: { status: 401, message: 'Slack request signature verification failed' },
  SCHED_SLACK_APP_MISMATCH: { status: 403, message: 'The event belongs to another Slack app' },
  SCHED_SLACK_NOT_CONNECTED: { status: 409, message: 'No Slack token is available for the workflow owner' },
  SCHED_SLACK_TOKEN_INVALID: { status: 409, message: 'Slack rejected the token' },
  SCHED_SLACK_MISSING_SCOPE: { status: 409, message: 'The Slack token lacks a required scope' },
  SCHED_SLACK_WORKSPACE_MISMATCH: {
    status: 400,
    message: 'workspace_id does not match the workspace of the Slack token',
  },
  SCHED_SLACK_UNKNOWN_CHANNEL: { status: 400, message: 'A configured Slack channel does not exist' },
  SCHED_SLACK_RATE_LIMITED: { status: 503, message: 'The Slack Web API is rate limiting us; retry later' },
};
