import { randomUUID } from 'node:crypto';
import { deleteOldest, json, type Queryable } from '../../db/db.js';
import { obj, str } from './event.js';

type Obj = Record<string, unknown>;

export interface DeliveryRow {
  deliveryId: string;
  eventType: string;
  payload: Obj;
  eventId: string;
  now: string;
}

/** The delivery record (inside the ingest transaction, next to its event and dispatches). */
export async function insertDelivery(q: Queryable, d: DeliveryRow): Promise<void> {
  const repo = obj(d.payload.repository);
  const installation = obj(d.payload.installation);
  await q.query(
    `INSERT INTO github_webhook_events (id, delivery_id, event_type, action, installation_id, repository_id,
       repository_full_name, event_id, payload, processed_at, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $10)
     ON CONFLICT (delivery_id) DO NOTHING`,
    [
      randomUUID(),
      d.deliveryId,
      d.eventType,
      str(d.payload.action),
      typeof installation?.id === 'number' ? installation.id : null,
      typeof repo?.id === 'number' ? repo.id : null,
      str(repo?.full_name),
      d.eventId,
      json(d.payload),
      d.now,
    ],
  );
}

/**
 * Deletes up to `limit` delivery records created before `before` (the event retention), oldest first.
 * A redelivery of a purged delivery is taken as new: GitHub redelivers on request only, within days.
 */
export function purgeDeliveries(q: Queryable, before: string, limit: number): Promise<number> {
  return deleteOldest(q, 'github_webhook_events', 'created_at', before, limit);
}

export async function deliveryKnown(q: Queryable, deliveryId: string): Promise<boolean> {
  const r = await q.query('SELECT 1 FROM github_webhook_events WHERE delivery_id = $1', [deliveryId]);
  return r.rows.length > 0;
}

function repoList(v: unknown): Obj[] {
  return (Array.isArray(v) ? v : []).flatMap((r) => {
    const o = obj(r);
    return o && typeof o.id === 'number' && typeof o.full_name === 'string'
      ? [{ id: o.id, full_name: o.full_name, private: o.private === true }]
      : [];
  });
}

/**
 * `installation` and `installation_repositories` deliveries keep github_installations current.
 * Repositories are merged by id in SQL, under the row lock of the upsert.
 */
export async function applyInstallationEvent(q: Queryable, eventType: string, payload: Obj, now: string) {
  const inst = obj(payload.installation);
  const account = obj(inst?.account);
  if (typeof inst?.id !== 'number' || typeof account?.id !== 'number') return;
  const action = str(payload.action);
  const full = eventType === 'installation' && Array.isArray(payload.repositories);
  const added = repoList(eventType === 'installation' ? payload.repositories : payload.repositories_added);
  const removed = eventType === 'installation_repositories' ? repoList(payload.repositories_removed) : [];
  const suspended = action === 'suspend' ? (str(inst.suspended_at) ?? now) : null;
  await q.query(
    `INSERT INTO github_installations (id, installation_id, account_id, account_login, account_type,
       repository_selection, repositories, permissions, suspended_at, deleted_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $11)
     ON CONFLICT (installation_id) DO UPDATE SET
       account_id = EXCLUDED.account_id, account_login = EXCLUDED.account_login,
       account_type = EXCLUDED.account_type,
       repository_selection = coalesce(EXCLUDED.repository_selection, github_installations.repository_selection),
       permissions = CASE WHEN $12::boolean THEN EXCLUDED.permissions ELSE github_installations.permissions END,
       suspended_at = CASE WHEN $13::boolean THEN EXCLUDED.suspended_at ELSE github_installations.suspended_at END,
       deleted_at = EXCLUDED.deleted_at,
       repositories = CASE WHEN $14::boolean THEN EXCLUDED.repositories ELSE (
         SELECT coalesce(jsonb_agg(r), '[]'::jsonb) FROM (
           SELECT r FROM jsonb_array_elements(github_installations.repositories) AS r
           WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements($15::jsonb) AS x
             WHERE x->'id' = r->'id' OR lower(x->>'full_name') = lower(r->>'full_name'))
           UNION ALL SELECT x FROM jsonb_array_elements(EXCLUDED.repositories) AS x) AS merged (r)) END,
       updated_at = EXCLUDED.updated_at`,
    [
      randomUUID(),
      inst.id,
      account.id,
      str(account.login) ?? '',
      str(account.type),
      str(inst.repository_selection) ?? str(payload.repository_selection),
      json(added),
      json(obj(inst.permissions) ?? {}),
      suspended,
      action === 'deleted' ? now : null,
      now,
      eventType === 'installation',
      action === 'suspend' || action === 'unsuspend' || action === 'created',
      full,
      // Added ones are removed first too, so a repeated "added" does not list a repository twice.
      json([...removed, ...added]),
    ],
  );
}

/** The live installation covering a repository (listed, or all repositories of its account). */
export async function findInstallationForRepository(
  q: Queryable,
  fullName: string,
): Promise<number | undefined> {
  const owner = fullName.split('/')[0] ?? '';
  const r = await q.query<{ installation_id: string }>(
    `SELECT installation_id::text AS installation_id FROM github_installations
     WHERE deleted_at IS NULL AND suspended_at IS NULL
       AND (EXISTS (SELECT 1 FROM jsonb_array_elements(repositories) AS r WHERE lower(r->>'full_name') = $1)
            OR (repository_selection = 'all' AND lower(account_login) = $2))
     ORDER BY updated_at DESC LIMIT 1`,
    [fullName.toLowerCase(), owner.toLowerCase()],
  );
  const row = r.rows[0];
  return row ? Number(row.installation_id) : undefined;
}

/** Keeps what GET /repos/{owner}/{repo}/installation told us, so the next deploy needs no call. */
export async function rememberInstallation(
  q: Queryable,
  inst: { id: number; account: Obj },
  fullName: string,
  now: string,
): Promise<void> {
  if (typeof inst.account.id !== 'number') return;
  const repo = json([{ full_name: fullName }]);
  await q.query(
    `INSERT INTO github_installations (id, installation_id, account_id, account_login, account_type, repositories,
       created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $7)
     ON CONFLICT (installation_id) DO UPDATE SET updated_at = EXCLUDED.updated_at,
       repositories = CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(github_installations.repositories) AS r
           WHERE lower(r->>'full_name') = lower($8::text))
         THEN github_installations.repositories ELSE github_installations.repositories || EXCLUDED.repositories END`,
    [
      randomUUID(),
      inst.id,
      inst.account.id,
      str(inst.account.login) ?? '',
      str(inst.account.type),
      repo,
      now,
      fullName,
    ],
  );
}
