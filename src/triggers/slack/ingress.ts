/**
 * Slack envelopes → the normalised event (the base of the engine's trigger_data). The field names at the
 * top level are a contract: correlated human-in-the-loop waits match on them by dotted path
 * (`channel_id` + `thread_ts` for a thread reply, `actions.action_id` / `actions.value` for a button).
 */
export interface SlackAction {
  action_id: string | null;
  block_id: string | null;
  type: string | null;
  value: string | null;
}

export interface SlackEventData extends Record<string, unknown> {
  trigger_type: 'SLACK';
  event_type: string;
  subtype: string | null;
  event_id: string | null;
  event_time: number | null;
  api_app_id: string | null;
  team_id: string;
  channel_id: string | null;
  channel_type: string | null;
  user_id: string | null;
  text: string | null;
  ts: string | null;
  thread_ts: string | null;
  bot_id: string | null;
  /** The whole envelope (the deprecated verification `token` removed). */
  event: Record<string, unknown>;
  actions?: SlackAction[];
  message_ts?: string | null;
}

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const idOf = (v: unknown): string | null => str(v) ?? str(obj(v).id);

function withoutToken(envelope: Obj): Obj {
  const { token: _token, ...rest } = envelope;
  return rest;
}

/** An `event_callback` envelope. */
export function normaliseEventCallback(envelope: Obj): SlackEventData {
  const ev = obj(envelope.event);
  const type = str(ev.type) ?? 'unknown';
  const subtype = str(ev.subtype);
  // Edits carry the new message in `message`, deletions the old one in `previous_message`.
  const msg =
    subtype === 'message_changed'
      ? obj(ev.message)
      : subtype === 'message_deleted'
        ? obj(ev.previous_message)
        : ev;
  const item = obj(ev.item);
  const text = str(msg.text);
  return {
    trigger_type: 'SLACK',
    event_type: type,
    subtype,
    event_id: str(envelope.event_id),
    event_time: typeof envelope.event_time === 'number' ? envelope.event_time : null,
    api_app_id: str(envelope.api_app_id),
    team_id: str(envelope.team_id) ?? '',
    // Reactions name their channel in item.channel (contract.md §7 defect 11); channel_created in channel.id.
    channel_id: idOf(ev.channel) ?? str(ev.channel_id) ?? str(item.channel),
    channel_type: str(ev.channel_type),
    user_id: idOf(msg.user) ?? str(ev.user_id) ?? str(obj(ev.channel).creator),
    text,
    ts: str(subtype === 'message_deleted' ? ev.deleted_ts : msg.ts) ?? str(ev.event_ts),
    thread_ts: str(msg.thread_ts),
    bot_id: str(msg.bot_id),
    // The original's names (contract.md §2.2), for workflows written against it.
    message: text,
    timestamp: str(ev.ts),
    workspace_id: str(envelope.team_id),
    event: withoutToken(envelope),
  };
}

/** A `block_actions` interaction (buttons, selects): routable and usable for resume like any event. */
export function normaliseBlockActions(payload: Obj): SlackEventData {
  const message = obj(payload.message);
  const container = obj(payload.container);
  const user = obj(payload.user);
  const actions = Array.isArray(payload.actions) ? payload.actions.map((a) => action(obj(a))) : [];
  const messageTs = str(message.ts) ?? str(container.message_ts);
  return {
    trigger_type: 'SLACK',
    event_type: 'block_actions',
    subtype: null,
    event_id: null,
    event_time: null,
    api_app_id: str(payload.api_app_id),
    team_id: idOf(payload.team) ?? str(user.team_id) ?? '',
    channel_id: idOf(payload.channel) ?? str(container.channel_id),
    channel_type: null,
    user_id: str(user.id),
    text: str(message.text),
    ts: messageTs,
    thread_ts: str(message.thread_ts) ?? str(container.thread_ts),
    bot_id: null,
    actions,
    message_ts: messageTs,
    trigger_id: str(payload.trigger_id),
    workspace_id: idOf(payload.team),
    event: withoutToken(payload),
  };
}

function action(a: Obj): SlackAction {
  const selected = obj(a.selected_option);
  const value =
    str(a.value) ??
    str(selected.value) ??
    str(a.selected_date) ??
    str(a.selected_time) ??
    str(a.selected_user) ??
    str(a.selected_channel) ??
    str(a.selected_conversation);
  return { action_id: str(a.action_id), block_id: str(a.block_id), type: str(a.type), value };
}
