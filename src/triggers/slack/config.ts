import { RE2JS } from 're2js';
import { z } from 'zod';
import { ConfigFieldError, parseWith } from '../types.js';

/** Message subtypes that repeat or retract a message: ignored unless a trigger asks for them. */
export const OPT_IN_SUBTYPES = ['message_changed', 'message_deleted', 'message_replied'] as const;
/** `message.<x>` subscription names (Slack's) → the `channel_type` of the message event. */
const MESSAGE_SCOPES: Record<string, string> = {
  channels: 'channel',
  groups: 'group',
  im: 'im',
  mpim: 'mpim',
  app_home: 'app_home',
};

/** Stored (normalised) configuration; the workspace, channel ids and bot identity come from deploy-time resolution. */
export interface SlackConfig {
  /** Workspace (team) id: the index key. Empty only between parseConfig and resolve. */
  workspace_id: string;
  event_types: string[];
  /** Opted-in message subtypes (message_changed, message_deleted, message_replied). */
  message_subtypes: string[];
  /** From `message.im` etc.: the channel types a message may come from; null = any. */
  message_channel_types: string[] | null;
  /** Channel ids after resolution (before it, ids or names as configured); [] = every channel. */
  channels: string[];
  /** Channel names as configured → their ids (for people reading the configuration). */
  channel_names: Record<string, string>;
  users: string[];
  /** RE2 pattern searched in the user id (linear time). */
  user_pattern: string | null;
  ignore_bots: boolean;
  mention_required: boolean;
  require_thread: boolean;
  command_prefix: string | null;
  /** Lower-cased; any one must occur in the text. */
  keywords: string[];
  bot_user_id: string | null;
  bot_id: string | null;
  app_id: string | null;
}

export const CHANNEL_ID_RE = /^[CGD][A-Z0-9]{6,}$/;
const USER_ID_RE = /^[UWB][A-Z0-9]{2,}$/;
const TEAM_ID_RE = /^[TE][A-Z0-9]{2,}$/;

/** A list given as an array or as a comma-separated string. */
const list = (max: number) =>
  z
    .union([z.array(z.string()), z.string()])
    .transform((v) => (typeof v === 'string' ? v.split(',') : v).map((x) => x.trim()).filter((x) => x !== ''))
    .pipe(z.array(z.string().max(200)).max(max, `at most ${max} entries`));

/** Both key sets of contract.md §2 (spec: events, channels, keywords; impl: event_types, channel_filter, …). */
const raw = z.object({
  workspace_id: z.string().trim().optional(),
  team_id: z.string().trim().optional(),
  events: list(30).optional(),
  event_types: list(30).optional(),
  channels: list(500).optional(),
  channel_filter: list(500).optional(),
  channel: z.string().trim().max(200).optional(),
  keywords: list(100).optional(),
  users: list(500).optional(),
  user_filter: z.string().trim().max(500).optional(),
  ignore_bots: z.boolean().optional(),
  filter_bot_messages: z.boolean().optional(),
  mention_required: z.boolean().default(false),
  require_thread: z.boolean().default(false),
  command_prefix: z.string().max(50).optional(),
  // The spec's secret placeholder: never stored here (tokens live in the integration store).
  bot_token: z.unknown().optional(),
});

export function parseSlackConfig(input: Record<string, unknown>): SlackConfig {
  const c = parseWith(raw, input);
  const workspace = c.workspace_id || c.team_id || '';
  if (workspace && !TEAM_ID_RE.test(workspace)) {
    throw new ConfigFieldError('workspace_id', `${JSON.stringify(workspace)} is not a Slack team id (T…)`);
  }
  const types = eventTypes(c.event_types ?? c.events, c.event_types ? 'event_types' : 'events');
  const channelField = c.channels ? 'channels' : c.channel_filter ? 'channel_filter' : 'channel';
  const channels = (c.channels ?? c.channel_filter ?? (c.channel ? [c.channel] : [])).map((ch) =>
    channelEntry(ch, channelField),
  );
  const users = [...(c.users ?? [])];
  for (const u of users) {
    if (!USER_ID_RE.test(u))
      throw new ConfigFieldError('users', `${JSON.stringify(u)} is not a user id (U…)`);
  }
  let userPattern: string | null = null;
  if (c.user_filter) {
    if (USER_ID_RE.test(c.user_filter)) users.push(c.user_filter);
    else userPattern = compileUserPattern(c.user_filter);
  }
  const keywords = (c.keywords ?? []).map((k) => k.toLowerCase());
  return {
    workspace_id: workspace,
    ...types,
    channels: [...new Set(channels)],
    channel_names: {},
    users: [...new Set(users)],
    user_pattern: userPattern,
    // `ignore_bots: false` must really disable the filter (contract.md §7 defect 10): no `||` with a default.
    ignore_bots: c.ignore_bots ?? c.filter_bot_messages ?? true,
    mention_required: c.mention_required,
    require_thread: c.require_thread,
    command_prefix: c.command_prefix?.trim() ? c.command_prefix.trim() : null,
    keywords: [...new Set(keywords)],
    bot_user_id: null,
    bot_id: null,
    app_id: null,
  };
}

function eventTypes(
  given: string[] | undefined,
  field: string,
): Pick<SlackConfig, 'event_types' | 'message_subtypes' | 'message_channel_types'> {
  const entries = given && given.length > 0 ? given : ['message', 'app_mention'];
  const types = new Set<string>();
  const subtypes = new Set<string>();
  const channelTypes = new Set<string>();
  let plainMessage = false;
  for (const e of entries) {
    if (!/^[a-z_]+(\.[a-z_]+)?$/.test(e)) {
      throw new ConfigFieldError(field, `${JSON.stringify(e)} is not a Slack event type`);
    }
    const [head, tail] = e.split('.') as [string, string | undefined];
    const sub = tail ?? head;
    if ((OPT_IN_SUBTYPES as readonly string[]).includes(sub) && (tail === undefined || head === 'message')) {
      subtypes.add(sub);
    } else if (head === 'message' && tail !== undefined) {
      const ct = MESSAGE_SCOPES[tail];
      if (!ct) throw new ConfigFieldError(field, `${JSON.stringify(e)} is not a message subscription`);
      types.add('message');
      channelTypes.add(ct);
    } else if (tail !== undefined) {
      throw new ConfigFieldError(field, `${JSON.stringify(e)} is not a Slack event type`);
    } else {
      if (head === 'message') plainMessage = true;
      types.add(head);
    }
  }
  return {
    event_types: [...types],
    message_subtypes: [...subtypes],
    message_channel_types: plainMessage || channelTypes.size === 0 ? null : [...channelTypes],
  };
}

function channelEntry(ch: string, field: string): string {
  const v = ch.trim().replace(/^#/, '');
  if (CHANNEL_ID_RE.test(v)) return v;
  if (!/^[^\s,#<>@]{1,80}$/u.test(v)) {
    throw new ConfigFieldError(field, `${JSON.stringify(ch)} is neither a channel id nor a channel name`);
  }
  return v.toLowerCase();
}

function compileUserPattern(pattern: string): string {
  try {
    RE2JS.compile(pattern);
  } catch (err) {
    throw new ConfigFieldError(
      'user_filter',
      `is neither a user id (U…) nor a valid RE2 regular expression: ${(err as Error).message}`,
    );
  }
  return pattern;
}

/** Names still to resolve (everything that is not a channel id). */
export function channelNames(config: SlackConfig): string[] {
  return config.channels.filter((c) => !CHANNEL_ID_RE.test(c));
}
