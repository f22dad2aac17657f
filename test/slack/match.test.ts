import { describe, expect, it } from 'vitest';
import { parseSlackConfig, type SlackConfig } from '../../src/triggers/slack/config.js';
import { normaliseBlockActions, normaliseEventCallback } from '../../src/triggers/slack/ingress.js';
import { matchSlack } from '../../src/triggers/slack/match.js';
import { ConfigFieldError } from '../../src/triggers/types.js';
import {
  ALICE,
  APP,
  appMention,
  BOB,
  BOT_ID,
  BOT_USER,
  blockActions,
  botMessage,
  envelope,
  GENERAL,
  message,
  messageChanged,
  RANDOM,
  reactionAdded,
  TEAM_A,
  TEAM_B,
  threadReply,
} from './helpers/envelopes.js';

/** A configuration as it is after deploy-time resolution. */
function cfg(raw: Record<string, unknown> = {}, resolved: Partial<SlackConfig> = {}): SlackConfig {
  return {
    ...parseSlackConfig(raw),
    workspace_id: TEAM_A,
    bot_user_id: BOT_USER,
    bot_id: BOT_ID,
    app_id: APP,
    ...resolved,
  };
}

const ev = (event: Record<string, unknown>, o: { team?: string } = {}) =>
  normaliseEventCallback(envelope(event, o));

describe('parseSlackConfig', () => {
  it('defaults: message and app_mention, bots ignored, no filters', () => {
    expect(parseSlackConfig({})).toMatchObject({
      event_types: ['message', 'app_mention'],
      message_subtypes: [],
      message_channel_types: null,
      channels: [],
      ignore_bots: true,
      mention_required: false,
      require_thread: false,
      command_prefix: null,
      keywords: [],
      workspace_id: '',
    });
  });

  it('reads the spec keys and the implementation keys alike', () => {
    const spec = parseSlackConfig({
      workspace_id: 'T0TEAMAAA1',
      events: ['reaction_added'],
      channels: ['#General', 'C0RANDOM02'],
      keywords: ['Deploy'],
    });
    const impl = parseSlackConfig({
      team_id: 'T0TEAMAAA1',
      event_types: 'reaction_added',
      channel_filter: 'general, C0RANDOM02',
      keywords: 'deploy',
    });
    expect(impl).toEqual(spec);
    expect(spec.channels).toEqual(['general', 'C0RANDOM02']);
    expect(parseSlackConfig({ channel: 'ops' }).channels).toEqual(['ops']);
  });

  it('ignore_bots: false really disables the bot filter (either key)', () => {
    expect(parseSlackConfig({ ignore_bots: false }).ignore_bots).toBe(false);
    expect(parseSlackConfig({ filter_bot_messages: false }).ignore_bots).toBe(false);
    expect(parseSlackConfig({ ignore_bots: false, filter_bot_messages: true }).ignore_bots).toBe(false);
  });

  it('user_filter is an id or an RE2 pattern; a broken pattern names the field', () => {
    expect(parseSlackConfig({ user_filter: ALICE })).toMatchObject({ users: [ALICE], user_pattern: null });
    expect(parseSlackConfig({ user_filter: '^U0(ALICE|BOB)' })).toMatchObject({
      users: [],
      user_pattern: '^U0(ALICE|BOB)',
    });
    expect(() => parseSlackConfig({ user_filter: '(unclosed' })).toThrow(ConfigFieldError);
    // Backreferences are not RE2 (they would allow exponential time): refused at deploy.
    expect(() => parseSlackConfig({ user_filter: '(a)\\1' })).toThrow(/RE2/);
  });

  it('message subscriptions and opt-in subtypes', () => {
    expect(parseSlackConfig({ events: ['message.im', 'message.mpim'] })).toMatchObject({
      event_types: ['message'],
      message_channel_types: ['im', 'mpim'],
    });
    expect(
      parseSlackConfig({ events: ['message', 'message_changed', 'message.message_deleted'] }),
    ).toMatchObject({
      event_types: ['message'],
      message_subtypes: ['message_changed', 'message_deleted'],
    });
  });

  it.each([
    [{ workspace_id: 'acme' }, 'workspace_id'],
    [{ events: ['Message!'] }, 'events'],
    [{ event_types: ['message.bogus'] }, 'event_types'],
    [{ channels: ['two words'] }, 'channels'],
    [{ users: ['alice'] }, 'users'],
    [{ mention_required: 'yes' }, 'mention_required'],
  ])('refuses %j naming %s', (raw, field) => {
    try {
      parseSlackConfig(raw as Record<string, unknown>);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigFieldError);
      expect((err as ConfigFieldError).field).toBe(field);
    }
  });

  it('never keeps a bot_token from the workflow', () => {
    expect(JSON.stringify(parseSlackConfig({ bot_token: 'xoxb-secret' }))).not.toContain('xoxb');
  });
});

describe('normalised events', () => {
  it('reaction_added takes its channel from item.channel', () => {
    expect(ev(reactionAdded())).toMatchObject({
      event_type: 'reaction_added',
      channel_id: RANDOM,
      user_id: BOB,
    });
  });
  it('message_changed reads the edited message; the verification token is not kept', () => {
    const e = ev(messageChanged());
    expect(e).toMatchObject({
      subtype: 'message_changed',
      user_id: ALICE,
      text: 'Hello world (edited)',
      channel_id: GENERAL,
    });
    expect(e.event).not.toHaveProperty('token');
  });
  it('block_actions carry the actions, user, channel and message ts', () => {
    const e = normaliseBlockActions(blockActions({ threadTs: '1767225600.000100' }));
    expect(e).toMatchObject({
      event_type: 'block_actions',
      team_id: TEAM_A,
      user_id: BOB,
      channel_id: GENERAL,
      message_ts: '1767226000.000500',
      thread_ts: '1767225600.000100',
      actions: [{ action_id: 'approve', block_id: 'approval_block', value: 'run-42', type: 'button' }],
    });
  });
});

type Row = [name: string, config: SlackConfig, event: ReturnType<typeof ev>, expected: true | string];

describe('matchSlack: every filter on realistic envelopes', () => {
  const rows: Row[] = [
    ['message, defaults', cfg(), ev(message()), true],
    ['thread reply, defaults', cfg(), ev(threadReply()), true],
    ['app_mention, defaults', cfg(), ev(appMention()), true],
    [
      'another workspace (index key is the first guard, the matcher the second)',
      cfg(),
      ev(message(), { team: TEAM_B }),
      'workspace',
    ],
    ['another Slack app', cfg({}, { app_id: 'A0OTHER' }), ev(message()), 'app'],
    ['event type not subscribed', cfg({ events: ['app_mention'] }), ev(message()), 'event_types'],
    ['reaction_added subscribed', cfg({ events: ['reaction_added'] }), ev(reactionAdded()), true],
    ['reaction_added not subscribed', cfg(), ev(reactionAdded()), 'event_types'],
    ['message_changed ignored by default', cfg(), ev(messageChanged()), 'event_types: message_changed'],
    ['message_changed when asked for', cfg({ events: ['message_changed'] }), ev(messageChanged()), true],
    ['message.im only: a channel message', cfg({ events: ['message.im'] }), ev(message()), 'event_types'],
    [
      'message.im only: a DM',
      cfg({ events: ['message.im'] }),
      ev(message({ channel: 'D0DIRECT01', channel_type: 'im' })),
      true,
    ],
    ['bot_message ignored by default', cfg(), ev(botMessage()), 'ignore_bots'],
    ['bot_message with ignore_bots: false', cfg({ ignore_bots: false }), ev(botMessage()), true],
    [
      'bot_message with filter_bot_messages: false',
      cfg({ filter_bot_messages: false }),
      ev(botMessage()),
      true,
    ],
    [
      'own bot even with ignore_bots: false (loop guard)',
      cfg({ ignore_bots: false }),
      ev(botMessage({ bot_id: BOT_ID })),
      'bot',
    ],
    ['own bot user', cfg({ ignore_bots: false }), ev(message({ user: BOT_USER })), 'bot'],
    ['channel listed', cfg({ channels: [GENERAL] }), ev(message()), true],
    ['channel not listed', cfg({ channels: [RANDOM] }), ev(message()), 'channels'],
    [
      'reaction channel from item.channel',
      cfg({ events: ['reaction_added'], channels: [RANDOM] }),
      ev(reactionAdded()),
      true,
    ],
    [
      'reaction in another channel',
      cfg({ events: ['reaction_added'], channels: [GENERAL] }),
      ev(reactionAdded()),
      'channels',
    ],
    ['users: listed', cfg({ users: [ALICE] }), ev(message()), true],
    ['users: not listed', cfg({ users: [BOB] }), ev(message()), 'users'],
    ['user_filter id', cfg({ user_filter: BOB }), ev(message()), 'users'],
    ['user_filter regex matches', cfg({ user_filter: '^U0AL' }), ev(message()), true],
    ['user_filter regex does not match', cfg({ user_filter: '^U0BO' }), ev(message()), 'users'],
    [
      'user filter on a bot message without user',
      cfg({ ignore_bots: false, users: [ALICE] }),
      ev(botMessage()),
      'users',
    ],
    ['require_thread: top-level message', cfg({ require_thread: true }), ev(message()), 'require_thread'],
    ['require_thread: thread reply', cfg({ require_thread: true }), ev(threadReply()), true],
    [
      'require_thread: a thread parent (thread_ts = ts)',
      cfg({ require_thread: true }),
      ev(message({ thread_ts: '1767225600.000100' })),
      'require_thread',
    ],
    [
      'mention_required: plain message',
      cfg({ mention_required: true, events: ['message'] }),
      ev(message()),
      'mention_required',
    ],
    [
      'mention_required: <@bot> in text',
      cfg({ mention_required: true, events: ['message'] }),
      ev(message({ text: `hi <@${BOT_USER}>` })),
      true,
    ],
    [
      'mention_required: another user mentioned',
      cfg({ mention_required: true, events: ['message'] }),
      ev(message({ text: `hi <@${BOB}>` })),
      'mention_required',
    ],
    [
      'mention_required: rich-text user element',
      cfg({ mention_required: true, events: ['message'] }),
      ev(
        message({
          text: 'hi',
          blocks: [
            {
              type: 'rich_text',
              elements: [{ type: 'rich_text_section', elements: [{ type: 'user', user_id: BOT_USER }] }],
            },
          ],
        }),
      ),
      true,
    ],
    ['mention_required: app_mention', cfg({ mention_required: true }), ev(appMention()), true],
    [
      'mention_required: bot user from authorizations when not resolved',
      cfg({ mention_required: true, events: ['message'] }, { bot_user_id: null }),
      ev(message({ text: `hey <@${BOT_USER}>` })),
      true,
    ],
    [
      'a mention arrives twice: the message copy yields to app_mention',
      cfg(),
      ev(message({ text: `<@${BOT_USER}> deploy` })),
      'event_types: the app_mention',
    ],
    [
      'a mention in a DM has no app_mention: the message counts',
      cfg(),
      ev(message({ text: `<@${BOT_USER}> hi`, channel_type: 'im' })),
      true,
    ],
    [
      'command_prefix: matches',
      cfg({ command_prefix: '!deploy' }),
      ev(message({ text: '!deploy prod' })),
      true,
    ],
    ['command_prefix: does not match', cfg({ command_prefix: '!deploy' }), ev(message()), 'command_prefix'],
    [
      'command_prefix after the mention of an app_mention',
      cfg({ command_prefix: '!deploy' }),
      ev(appMention({ text: `<@${BOT_USER}> !deploy prod` })),
      true,
    ],
    ['keywords: any, case-insensitive', cfg({ keywords: ['urgent', 'WORLD'] }), ev(message()), true],
    ['keywords: none present', cfg({ keywords: ['urgent'] }), ev(message()), 'keywords'],
    [
      'text filters do not apply to reactions',
      cfg({ events: ['reaction_added'], keywords: ['x'], mention_required: true }),
      ev(reactionAdded()),
      true,
    ],
    [
      'block_actions subscribed',
      cfg({ events: ['block_actions'] }),
      normaliseBlockActions(blockActions()) as ReturnType<typeof ev>,
      true,
    ],
    [
      'block_actions not subscribed',
      cfg(),
      normaliseBlockActions(blockActions()) as ReturnType<typeof ev>,
      'event_types',
    ],
    [
      'block_actions in another channel',
      cfg({ events: ['block_actions'], channels: [RANDOM] }),
      normaliseBlockActions(blockActions()) as ReturnType<typeof ev>,
      'channels',
    ],
    [
      'block_actions by a user not allowed',
      cfg({ events: ['block_actions'], users: [ALICE] }),
      normaliseBlockActions(blockActions()) as ReturnType<typeof ev>,
      'users',
    ],
  ];

  it.each(rows)('%s', (_name, config, event, expected) => {
    const d = matchSlack(config, event);
    if (expected === true) expect(d).toEqual({ matched: true });
    else {
      expect(d.matched).toBe(false);
      expect(d.matched === false && d.reason.startsWith(expected), JSON.stringify(d)).toBe(true);
    }
  });

  it('an unresolved configuration matches nothing', () => {
    expect(matchSlack({ ...cfg(), workspace_id: '' }, ev(message()))).toMatchObject({ matched: false });
  });
});
