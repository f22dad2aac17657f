import { randomUUID } from 'node:crypto';
import { deleteOldest, type Queryable, ts } from '../../db/db.js';

export interface RateLimitNotice {
  apiAppId: string;
  teamId: string;
  minuteRateLimited: number;
  receivedAt: number;
}

/** Records an app_rate_limited notice; false when Slack repeated one already stored. */
export async function recordRateLimitNotice(q: Queryable, n: RateLimitNotice): Promise<boolean> {
  const r = await q.query(
    `INSERT INTO slack_rate_limit_notices (id, api_app_id, team_id, minute_rate_limited, received_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (api_app_id, team_id, minute_rate_limited) DO NOTHING`,
    [randomUUID(), n.apiAppId, n.teamId, n.minuteRateLimited, ts(n.receivedAt)],
  );
  return r.rowCount > 0;
}

/** Deletes up to `limit` notices received before `before` (the event retention), oldest first. */
export function purgeRateLimitNotices(q: Queryable, before: string, limit: number): Promise<number> {
  return deleteOldest(q, 'slack_rate_limit_notices', 'received_at', before, limit);
}

export async function listRateLimitNotices(
  q: Queryable,
  limit = 100,
): Promise<{ api_app_id: string; team_id: string; minute_rate_limited: number; received_at: string }[]> {
  const r = await q.query<{
    api_app_id: string;
    team_id: string;
    minute_rate_limited: string;
    received_at: Date;
  }>(
    `SELECT api_app_id, team_id, minute_rate_limited, received_at FROM slack_rate_limit_notices
     ORDER BY received_at DESC LIMIT $1`,
    [limit],
  );
  return r.rows.map((x) => ({
    api_app_id: x.api_app_id,
    team_id: x.team_id,
    minute_rate_limited: Number(x.minute_rate_limited),
    received_at: new Date(x.received_at).toISOString(),
  }));
}
