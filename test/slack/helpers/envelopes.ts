import { signSlackRequest } from '../../../src/triggers/slack/verify.js';

/** Realistic Events API envelopes (shapes as in Slack's event reference pages). */
export const APP = 'A0APPSCHED1';
export const TEAM_A = 'T0TEAMAAA1';
export const TEAM_B = 'T0TEAMBBB2';
export const BOT_USER = 'U0BOTUSER1';
export const BOT_ID = 'B0BOTID001';
export const ALICE = 'U0ALICE001';
export const BOB = 'U0BOB00002';
export const GENERAL = 'C0GENERAL1';
export const RANDOM = 'C0RANDOM02';
export const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

type Obj = Record<string, unknown>;
let seq = 0;

export function envelope(event: Obj, o: { team?: string; app?: string; eventId?: string } = {}): Obj {
  const team = o.team ?? TEAM_A;
  return {
    token: 'ZZZZZZWSxiZZZ2yIvs3peJ',
    team_id: team,
    api_app_id: o.app ?? APP,
    event,
    type: 'event_callback',
    event_id: o.eventId ?? `Ev0${(++seq).toString().padStart(8, '0')}`,
    event_time: 1767225600,
    authorizations: [
      { enterprise_id: null, team_id: team, user_id: BOT_USER, is_bot: true, is_enterprise_install: false },
    ],
    is_ext_shared_channel: false,
    event_context: '4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMCJ9',
  };
}

export function message(o: Partial<Record<string, unknown>> = {}): Obj {
  return {
    type: 'message',
    channel: GENERAL,
    user: ALICE,
    text: 'Hello world',
    ts: '1767225600.000100',
    event_ts: '1767225600.000100',
    channel_type: 'channel',
    blocks: [
      {
        type: 'rich_text',
        block_id: 'b1',
        elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'Hello world' }] }],
      },
    ],
    ...o,
  };
}

export function threadReply(o: Partial<Record<string, unknown>> = {}): Obj {
  return message({
    text: 'yes, approved',
    ts: '1767225700.000200',
    thread_ts: '1767225600.000100',
    parent_user_id: BOT_USER,
    ...o,
  });
}

export function appMention(o: Partial<Record<string, unknown>> = {}): Obj {
  const { channel_type: _c, ...m } = message({ text: `<@${BOT_USER}> deploy please`, ...o });
  return { ...m, type: 'app_mention' };
}

export function botMessage(o: Partial<Record<string, unknown>> = {}): Obj {
  const { user: _u, ...m } = message({
    subtype: 'bot_message',
    bot_id: 'B0OTHERBOT',
    username: 'CI',
    text: 'build passed',
    ...o,
  });
  return m;
}

export function messageChanged(o: Partial<Record<string, unknown>> = {}): Obj {
  return {
    type: 'message',
    subtype: 'message_changed',
    hidden: true,
    channel: GENERAL,
    channel_type: 'channel',
    ts: '1767225800.000300',
    event_ts: '1767225800.000300',
    message: {
      type: 'message',
      user: ALICE,
      text: 'Hello world (edited)',
      ts: '1767225600.000100',
      edited: { user: ALICE, ts: '1767225800.000000' },
    },
    previous_message: { type: 'message', user: ALICE, text: 'Hello world', ts: '1767225600.000100' },
    ...o,
  };
}

export function reactionAdded(o: Partial<Record<string, unknown>> = {}): Obj {
  return {
    type: 'reaction_added',
    user: BOB,
    reaction: 'white_check_mark',
    item_user: ALICE,
    item: { type: 'message', channel: RANDOM, ts: '1767225600.000100' },
    event_ts: '1767225900.000400',
    ...o,
  };
}

export function blockActions(
  o: { team?: string; actionId?: string; value?: string; channel?: string; threadTs?: string } = {},
): Obj {
  return {
    type: 'block_actions',
    user: { id: BOB, username: 'bob', name: 'bob', team_id: o.team ?? TEAM_A },
    api_app_id: APP,
    token: '9s8d9as89d8as9d8as989',
    container: {
      type: 'message',
      message_ts: '1767226000.000500',
      channel_id: o.channel ?? GENERAL,
      is_ephemeral: false,
      thread_ts: o.threadTs,
    },
    trigger_id: `${++seq}.4723.5fc2d5b3c2ac0b`,
    team: { id: o.team ?? TEAM_A, domain: 'acme' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: o.channel ?? GENERAL, name: 'general' },
    message: {
      type: 'message',
      user: BOT_USER,
      bot_id: BOT_ID,
      text: 'Approve the deployment?',
      ts: '1767226000.000500',
      ...(o.threadTs ? { thread_ts: o.threadTs } : {}),
    },
    response_url: 'https://hooks.slack.com/actions/T0TEAMAAA1/1/abc',
    actions: [
      {
        action_id: o.actionId ?? 'approve',
        block_id: 'approval_block',
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        value: o.value ?? 'run-42',
        style: 'primary',
        type: 'button',
        action_ts: '1767226010.000600',
      },
    ],
  };
}

/** Headers and body of a request signed like Slack at `nowS`. */
export function signed(
  body: string,
  nowS: number,
  extra: Record<string, string> = {},
  contentType = 'application/json',
): { headers: Record<string, string>; payload: string } {
  return {
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(nowS),
      'x-slack-signature': signSlackRequest(SECRET, nowS, body),
      ...extra,
    },
    payload: body,
  };
}

export function interactiveBody(payload: Obj): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
