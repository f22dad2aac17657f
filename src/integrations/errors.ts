import { registerErrors } from '../errors.js';

export const INTEGRATION_ERRORS = {
  SCHED_CREDENTIALS_KEY_MISSING: {
    status: 503,
    message: 'CREDENTIALS_KEY is not configured: credentials cannot be stored or read',
  },
  SCHED_CREDENTIALS_UNREADABLE: {
    status: 409,
    message: 'A stored credential cannot be decrypted with the current CREDENTIALS_KEY; store it again',
  },
  SCHED_INTEGRATION_NOT_FOUND: { status: 404, message: 'No credential is stored for this provider' },
};

// Not a trigger kind, so the registry does not register these; importing the module does.
registerErrors(INTEGRATION_ERRORS);
