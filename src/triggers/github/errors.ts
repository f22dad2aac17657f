export const GITHUB_ERRORS = {
  SCHED_GITHUB_WEBHOOK_NOT_CONFIGURED: {
    status: 503,
    message: 'GITHUB_WEBHOOK_SECRET is not set, so GitHub deliveries cannot be verified and are refused',
  },
  SCHED_GITHUB_SIGNATURE_INVALID: { status: 401, message: 'GitHub webhook signature missing or wrong' },
  SCHED_GITHUB_HEADERS_MISSING: { status: 400, message: 'X-GitHub-Event and X-GitHub-Delivery are required' },
  SCHED_GITHUB_PAYLOAD_INVALID: { status: 400, message: 'The GitHub delivery has no usable JSON payload' },
  SCHED_GITHUB_INSTALLATION_NOT_FOUND: {
    status: 400,
    message: 'No installation of the GitHub App covers the repository',
  },
  SCHED_GITHUB_APP_NOT_CONFIGURED: {
    status: 503,
    message: 'GITHUB_APP_ID / GITHUB_APP_PRIVATE_KEY are missing or unusable',
  },
  SCHED_GITHUB_API_ERROR: { status: 502, message: 'The GitHub API failed or did not answer in time' },
};
