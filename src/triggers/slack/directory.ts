import { createHash } from 'node:crypto';
import { AppError } from '../../errors.js';
import { getCredential } from '../../integrations/index.js';
import type { Services } from '../../services.js';
import type { ResolveContext } from '../types.js';
import { CHANNEL_ID_RE, channelNames, type SlackConfig } from './config.js';
import { type SlackChannel, SlackWebApi } from './webapi.js';

/** conversations.list is Tier 2 (~20 requests/min): lists are cached, never fetched per event. */
const CHANNEL_CACHE_TTL_MS = 10 * 60_000;
/** A name missing from a list older than this triggers one refetch (the channel may be new). */
const REFRESH_ON_MISS_MS = 30_000;

interface ChannelList {
  at: number;
  byName: Map<string, string>;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

/**
 * Deploy-time Slack lookups for one service instance: which workspace and bot a token belongs to
 * (auth.test) and channel names → ids (conversations.list, cached per workspace and token; concurrent
 * deploys share one listing).
 */
export class SlackDirectory {
  private readonly api: SlackWebApi;
  private readonly lists = new Map<string, ChannelList>();
  private readonly loading = new Map<string, Promise<ChannelList>>();

  constructor(private readonly s: Pick<Services, 'db' | 'clock' | 'config'>) {
    this.api = new SlackWebApi({ baseUrl: s.config.slack.apiUrl, clock: s.clock });
  }

  /** Binds the trigger to the owner's workspace, bot and channel ids; every failure names what to fix. */
  async resolve(config: SlackConfig, userId: string): Promise<SlackConfig> {
    const { token, data } = await this.tokenFor(userId);
    const who = await this.api.authTest(token);
    if (
      config.workspace_id &&
      config.workspace_id !== who.teamId &&
      config.workspace_id !== who.enterpriseId
    ) {
      throw new AppError(
        'SCHED_SLACK_WORKSPACE_MISMATCH',
        `workspace_id ${config.workspace_id} is not the workspace of the connected Slack token (${who.teamId})`,
        { details: { field: 'workspace_id' } },
      );
    }
    const names = channelNames(config);
    const byName =
      names.length > 0 ? await this.channels(who.teamId, token, names) : new Map<string, string>();
    const unknown = names.find((n) => !byName.has(n));
    if (unknown !== undefined) {
      throw new AppError(
        'SCHED_SLACK_UNKNOWN_CHANNEL',
        `channel #${unknown} does not exist in workspace ${who.teamId} (or the Slack token cannot see it)`,
        { details: { field: 'channels', channel: unknown } },
      );
    }
    return {
      ...config,
      workspace_id: who.teamId,
      channels: [...new Set(config.channels.map((c) => (CHANNEL_ID_RE.test(c) ? c : byName.get(c)!)))],
      channel_names: Object.fromEntries(names.map((n) => [n, byName.get(n)!])),
      // A user token's auth.test names the person, not a bot: only a bot token (bot_id) gives the bot user.
      bot_user_id: str(data.bot_user_id) ?? (who.botId ? who.userId : null),
      bot_id: who.botId ?? str(data.bot_id),
      app_id: str(data.app_id) ?? this.s.config.slack.appId ?? null,
    };
  }

  private async tokenFor(userId: string): Promise<{ token: string; data: Record<string, unknown> }> {
    const cred = await getCredential(this.s, userId, 'slack');
    if (cred?.accessToken) return { token: cred.accessToken, data: cred.credentialData };
    if (this.s.config.slack.botToken) return { token: this.s.config.slack.botToken, data: {} };
    throw new AppError(
      'SCHED_SLACK_NOT_CONNECTED',
      `user ${userId} has no Slack token: store one with PUT /api/v1/integrations/slack (or set SLACK_BOT_TOKEN for a single-workspace install)`,
    );
  }

  private async channels(teamId: string, token: string, names: string[]): Promise<Map<string, string>> {
    // Keyed by token too: two tokens of one workspace may see different private channels.
    const key = `${teamId}:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
    const now = this.s.clock.now();
    let list = this.lists.get(key);
    const stale = !list || now - list.at > CHANNEL_CACHE_TTL_MS;
    const missing = list && names.some((n) => !list!.byName.has(n)) && now - list.at > REFRESH_ON_MISS_MS;
    if (stale || missing) list = await this.load(key, token);
    return list!.byName;
  }

  private load(key: string, token: string): Promise<ChannelList> {
    const running = this.loading.get(key);
    if (running) return running;
    const p = (async () => {
      let channels: SlackChannel[];
      try {
        channels = await this.api.listChannels(token);
      } catch (err) {
        // Without groups:read, private channels cannot be listed; public names still resolve.
        if (!(err instanceof AppError) || err.code !== 'SCHED_SLACK_MISSING_SCOPE') throw err;
        channels = await this.api.listChannels(token, 'public_channel');
      }
      const list = {
        at: this.s.clock.now(),
        byName: new Map(channels.map((c) => [c.name.toLowerCase(), c.id])),
      };
      this.lists.set(key, list);
      return list;
    })().finally(() => this.loading.delete(key));
    this.loading.set(key, p);
    return p;
  }
}

// One directory (and channel cache) per service instance; tests build several services in one process.
const directories = new WeakMap<object, SlackDirectory>();

export function resolveSlackConfig(config: SlackConfig, ctx: ResolveContext): Promise<SlackConfig> {
  let dir = directories.get(ctx.services);
  if (!dir) {
    dir = new SlackDirectory(ctx.services);
    directories.set(ctx.services, dir);
  }
  return dir.resolve(config, ctx.userId);
}
