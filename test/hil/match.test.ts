import { describe, expect, it } from 'vitest';
import { matches, matchProblem, scalarEquals } from '../../src/hil/match.js';

const slackReply = {
  trigger_type: 'SLACK',
  channel_id: 'C1',
  thread_ts: '1700000000.000100',
  ts: '1700000005.000200',
  event: { type: 'message', channel: 'C1' },
};
const slackButton = {
  trigger_type: 'SLACK',
  event_type: 'block_actions',
  actions: [
    { action_id: 'reject_42', value: 'no' },
    { action_id: 'approve_42', value: 'yes' },
  ],
};
const webhook = {
  body: { ticket: 'T-9', items: [{ tags: ['a', 'b'] }, { tags: ['c'] }], count: 3 },
  headers: { 'x-request-id': 'r-1', 'x-ticket': '42' },
  query_params: { approved: 'true' },
};

describe('match semantics', () => {
  it.each([
    ['thread reply', { channel_id: 'C1', thread_ts: '1700000000.000100' }, slackReply, true],
    ['other thread', { channel_id: 'C1', thread_ts: '1700000000.000999' }, slackReply, false],
    ['every entry must hold', { channel_id: 'C2', thread_ts: '1700000000.000100' }, slackReply, false],
    ['nested object', { 'event.channel': 'C1' }, slackReply, true],
    ['button among several actions', { 'actions.action_id': 'approve_42' }, slackButton, true],
    ['button value', { 'actions.value': 'yes' }, slackButton, true],
    ['absent button', { 'actions.action_id': 'approve_43' }, slackButton, false],
    ['body field', { 'body.ticket': 'T-9' }, webhook, true],
    ['header', { 'headers.x-request-id': 'r-1' }, webhook, true],
    ['arrays in arrays', { 'body.items.tags': 'c' }, webhook, true],
    ['number against header text', { 'headers.x-ticket': 42 }, webhook, true],
    ['boolean against query text', { 'query_params.approved': true }, webhook, true],
    ['number against number', { 'body.count': 3 }, webhook, true],
    ['text against number', { 'body.count': '3' }, webhook, true],
    ['no partial text match', { 'body.ticket': 'T-' }, webhook, false],
    ['case matters', { 'body.ticket': 't-9' }, webhook, false],
    ['path into a scalar', { 'body.ticket.x': 'T-9' }, webhook, false],
    ['missing path', { 'body.nope': 'x' }, webhook, false],
    ['object is not a scalar', { body: 'T-9' }, webhook, false],
    ['inherited keys are not fields', { 'body.constructor': 'x' }, webhook, false],
  ])('%s', (_name, match, data, expected) => {
    expect(matches(match, data)).toBe(expected);
  });

  it('compares scalars by JSON value, or by text between a string and a number/boolean', () => {
    expect(scalarEquals('1', 1)).toBe(true);
    expect(scalarEquals(1, '1')).toBe(true);
    expect(scalarEquals(true, 'true')).toBe(true);
    expect(scalarEquals('true', true)).toBe(true);
    expect(scalarEquals(1, true)).toBe(false);
    expect(scalarEquals('null', null)).toBe(false);
    expect(scalarEquals('', null)).toBe(false);
    expect(scalarEquals(0, false)).toBe(false);
  });

  it('stops on pathological payloads instead of stalling', () => {
    const big = { list: Array.from({ length: 100_000 }, (_, i) => ({ id: i })) };
    const started = performance.now();
    expect(matches({ 'list.id': 99_999 }, big)).toBe(false);
    expect(matches({ 'list.id': 5 }, big)).toBe(true);
    expect(performance.now() - started).toBeLessThan(200);
  });
});

describe('match validation', () => {
  it.each([
    [null, 'match'],
    [[], 'match'],
    [{}, 'match'],
    [{ 'a..b': 'x' }, 'match.a..b'],
    [{ '.a': 'x' }, 'match..a'],
    [{ 'a b': 'x' }, 'match.a b'],
    [{ a: null }, 'match.a'],
    [{ a: { b: 1 } }, 'match.a'],
    [{ a: ['x'] }, 'match.a'],
    [{ a: 'x'.repeat(1025) }, 'match.a'],
    [Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])), 'match'],
  ])('refuses %j (field %s)', (raw, field) => {
    expect(matchProblem(raw)?.field).toBe(field);
  });

  it('accepts scalars on dotted paths', () => {
    expect(
      matchProblem({ channel_id: 'C1', 'actions.action_id': 'a', 'body.n': 1, 'q.ok': false }),
    ).toBeUndefined();
  });
});
