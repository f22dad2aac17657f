import { RE2JS } from 're2js';
import type { MatchDecision } from '../types.js';
import { OPT_IN_SUBTYPES, type SlackConfig } from './config.js';
import type { SlackEventData } from './ingress.js';

/** Events whose text the text filters (mention, thread, prefix, keywords) read. */
const TEXT_EVENTS = new Set(['message', 'app_mention']);

const no = (reason: string): MatchDecision => ({ matched: false, reason });

/**
 * Phase two of Slack routing. Pure: decides from the configuration and the normalised event alone, and
 * names the filter that decided when it says no.
 */
export function matchSlack(config: SlackConfig, e: SlackEventData): MatchDecision {
  // The index key already chose the workspace; checked again so a matcher is never the weak link.
  if (!config.workspace_id || e.team_id !== config.workspace_id) return no('workspace: another team');
  if (config.app_id && e.api_app_id && e.api_app_id !== config.app_id) return no('app: another Slack app');
  const typeDecision = checkType(config, e);
  if (typeDecision) return typeDecision;
  if (isOwnBot(config, e)) return no('bot: the app’s own message (loop guard)');
  if (config.ignore_bots && (e.bot_id || e.subtype === 'bot_message')) return no('ignore_bots: bot message');
  if (config.channels.length > 0 && !(e.channel_id && config.channels.includes(e.channel_id))) {
    return no(`channels: ${e.channel_id ?? 'no channel'} is not listed`);
  }
  if (config.users.length > 0 || config.user_pattern) {
    if (!e.user_id || !userAllowed(config, e.user_id))
      return no(`users: ${e.user_id ?? 'no user'} is not allowed`);
  }
  if (!TEXT_EVENTS.has(e.event_type)) return { matched: true };
  const botUser = botUserId(config, e);
  if (
    e.event_type === 'message' &&
    !isOptInSubtype(e.subtype) &&
    config.event_types.includes('app_mention') &&
    e.channel_type !== 'im'
  ) {
    // Slack sends a mention twice (message and app_mention, different event ids); keep the app_mention.
    if (botUser && mentions(e, botUser))
      return no('event_types: the app_mention event of this message counts');
  }
  if (config.require_thread && !(e.thread_ts && e.thread_ts !== e.ts))
    return no('require_thread: not a thread reply');
  if (config.mention_required && e.event_type !== 'app_mention' && !(botUser && mentions(e, botUser))) {
    return no('mention_required: the bot is not mentioned');
  }
  const text = e.text ?? '';
  if (config.command_prefix) {
    if (!withoutLeadingMention(text, botUser).startsWith(config.command_prefix)) {
      return no('command_prefix: text does not start with it');
    }
  }
  if (config.keywords.length > 0) {
    const lower = text.toLowerCase();
    if (!config.keywords.some((k) => lower.includes(k))) return no('keywords: none in the text');
  }
  return { matched: true };
}

function checkType(config: SlackConfig, e: SlackEventData): MatchDecision | undefined {
  if (e.event_type === 'message') {
    if (e.subtype && isOptInSubtype(e.subtype)) {
      if (!config.message_subtypes.includes(e.subtype)) return no(`event_types: ${e.subtype} not subscribed`);
    } else if (!config.event_types.includes('message')) {
      return no('event_types: message not subscribed');
    }
    if (config.message_channel_types && !config.message_channel_types.includes(e.channel_type ?? '')) {
      return no(`event_types: messages from ${e.channel_type ?? 'unknown'} channels not subscribed`);
    }
    return undefined;
  }
  return config.event_types.includes(e.event_type)
    ? undefined
    : no(`event_types: ${e.event_type} not subscribed`);
}

function isOptInSubtype(subtype: string | null): boolean {
  return subtype !== null && (OPT_IN_SUBTYPES as readonly string[]).includes(subtype);
}

/** "<@BOT> !deploy" counts as starting with "!deploy" (an app_mention's text starts with the mention). */
function withoutLeadingMention(text: string, botUser: string | null): string {
  const t = text.trimStart();
  if (!botUser || !t.startsWith(`<@${botUser}`)) return t;
  const end = t.indexOf('>');
  return end < 0 ? t : t.slice(end + 1).trimStart();
}

function isOwnBot(config: SlackConfig, e: SlackEventData): boolean {
  return Boolean(
    (config.bot_id && e.bot_id === config.bot_id) || (config.bot_user_id && e.user_id === config.bot_user_id),
  );
}

/** The bot's user id: resolved at deploy (auth.test), else the installation the event was delivered for. */
function botUserId(config: SlackConfig, e: SlackEventData): string | null {
  if (config.bot_user_id) return config.bot_user_id;
  const auth = (e.event.authorizations as { user_id?: unknown; is_bot?: unknown }[] | undefined)?.[0];
  return auth?.is_bot === true && typeof auth.user_id === 'string' ? auth.user_id : null;
}

/** `<@U…>` in the text or a rich-text `user` element naming the bot. */
function mentions(e: SlackEventData, botUser: string): boolean {
  if (e.text && (e.text.includes(`<@${botUser}>`) || e.text.includes(`<@${botUser}|`))) return true;
  const inner = e.event.event as { blocks?: unknown; message?: { blocks?: unknown } } | undefined;
  return hasUserElement(inner?.blocks ?? inner?.message?.blocks, botUser, 0);
}

function hasUserElement(node: unknown, user: string, depth: number): boolean {
  if (depth > 8 || !node || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some((n) => hasUserElement(n, user, depth + 1));
  const o = node as { type?: unknown; user_id?: unknown; elements?: unknown };
  if (o.type === 'user' && o.user_id === user) return true;
  return hasUserElement(o.elements, user, depth + 1);
}

// Compiled patterns by source: the matcher runs per event and trigger, compiling is not free.
const patterns = new Map<string, RE2JS>();

function userAllowed(config: SlackConfig, user: string): boolean {
  if (config.users.includes(user)) return true;
  if (!config.user_pattern) return false;
  let re = patterns.get(config.user_pattern);
  if (!re) {
    if (patterns.size >= 1000) patterns.clear();
    re = RE2JS.compile(config.user_pattern);
    patterns.set(config.user_pattern, re);
  }
  return re.test(user);
}
