export const MANUAL_ERRORS = {
  SCHED_NO_MANUAL_TRIGGER: { status: 404, message: 'The workflow has no manual trigger' },
};
