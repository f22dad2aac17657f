import { MACROS } from './pattern.js';
import {
  type CompiledSchedule,
  compileSchedule,
  formatOffset,
  wallTimesBetween,
  zoneTransitions,
} from './schedule.js';

/**
 * Human descriptions of expressions ("At 09:00, Monday through Friday") and DST notes: what a schedule
 * does at each offset transition of its zone. The describer reads the same normalised fields the
 * schedule runs on (macros, names, Sunday as 0 or 7, Vixie's day-of-month/day-of-week OR).
 */

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const NTH = ['', 'first', 'second', 'third', 'fourth', 'fifth'];

const two = (n: number) => String(n).padStart(2, '0');
const ordinal = (n: number) => {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s.length === 2 ? s : 'th'}`;
};
function joinList(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}
const isPlain = (f: string) => /^\d+(,\d+)*$/.test(f);
const nums = (f: string) => f.split(',').map(Number);

/** Describes a comma list of a numeric field: values, ranges a-b, steps * /n and a-b/n. */
function listText(field: string, unit: string, name: (n: number) => string): string {
  const parts = field.split(',').map((item) => {
    let m = /^\*\/(\d+)$/.exec(item);
    if (m) return `every ${ordinal(Number(m[1]))} ${unit}`;
    m = /^(\d+)-(\d+)(?:\/(\d+))?$/.exec(item);
    if (m)
      return m[3]
        ? `every ${ordinal(Number(m[3]))} ${unit} from ${name(Number(m[1]))} through ${name(Number(m[2]))}`
        : `${name(Number(m[1]))} through ${name(Number(m[2]))}`;
    return /^\d+$/.test(item) ? name(Number(item)) : item;
  });
  return joinList(parts);
}

/** "minute 5", "minutes 0 and 30", "every 2nd hour": the unit word only where the list needs it. */
function unitText(field: string, one: string, many: string): string {
  const text = listText(field, one, String);
  return text.startsWith('every') ? text : `${/^\d+$/.test(field) ? one : many} ${text}`;
}

function timeText(sec: string, min: string, hour: string): string {
  if (isPlain(sec) && isPlain(min) && isPlain(hour)) {
    const times: string[] = [];
    for (const h of nums(hour))
      for (const m of nums(min))
        for (const s of nums(sec)) times.push(`${two(h)}:${two(m)}${sec === '0' ? '' : `:${two(s)}`}`);
    if (times.length <= 6) return `At ${joinList(times)}`;
  }
  const every = (f: string, unit: string, plural: string) =>
    f === '*' ? `every ${unit}` : /^\*\/\d+$/.test(f) ? `every ${f.slice(2)} ${plural}` : undefined;
  const pieces: string[] = [];
  const secEvery = every(sec, 'second', 'seconds');
  if (sec !== '0') pieces.push(secEvery ?? `at ${unitText(sec, 'second', 'seconds')}`);
  const minEvery = every(min, 'minute', 'minutes');
  if (!(minEvery && min === '*' && secEvery))
    pieces.push(minEvery ?? `${pieces.length ? 'past' : 'at'} ${unitText(min, 'minute', 'minutes')}`);
  const hourText = (h: number) => `${two(h)}:00`;
  if (hour !== '*') {
    const m = /^(\d+)-(\d+)$/.exec(hour);
    if (m && minEvery) pieces.push(`between ${hourText(Number(m[1]))} and ${two(Number(m[2]))}:59`);
    else if (/^\d+$/.test(hour) && minEvery)
      pieces.push(`between ${hourText(Number(hour))} and ${two(Number(hour))}:59`);
    else pieces.push(`${minEvery ? 'during' : 'past'} ${unitText(hour, 'hour', 'hours')}`);
  } else if (!minEvery) pieces.push('past every hour');
  const text = pieces.join(', ').replace(/, past/g, ' past');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function domText(dom: string): string {
  const parts = dom.split(',').map((item) => {
    if (item === 'L') return 'the last day';
    if (item === 'LW') return 'the last weekday';
    const w = /^(\d+)W$/.exec(item);
    if (w) return `the weekday nearest day ${w[1]}`;
    return null;
  });
  const plain = dom.split(',').filter((_, i) => parts[i] === null);
  const named = parts.filter((x): x is string => x !== null);
  if (plain.length) named.unshift(unitText(plain.join(','), 'day', 'days'));
  return `on ${joinList(named)} of the month`;
}

function dowText(dow: string): string {
  const day = (n: number) => DAYS[n] ?? String(n);
  const parts = dow.split(',').map((item) => {
    const last = /^(\d)L$/.exec(item);
    if (last) return `the last ${day(Number(last[1]))} of the month`;
    const nth = /^(\d)#(\d)$/.exec(item);
    if (nth) return `the ${NTH[Number(nth[2])] ?? nth[2]} ${day(Number(nth[1]))} of the month`;
    return listText(item, 'day of the week', day);
  });
  const text = joinList(parts);
  return /through|every/.test(text) && parts.length === 1 ? text : `on ${text}`;
}

/** Expression in six upper-case fields (seconds first), macros expanded and names replaced by numbers. */
export function normaliseFields(expression: string): string[] {
  const text = expression.trim();
  const f = (MACROS[text.toLowerCase()] ?? text).toUpperCase().split(/\s+/);
  if (f.length === 5) f.unshift('0');
  const names = (s: string, list: string[], base: number) =>
    s.replace(/[A-Z]{3}/g, (n) => {
      const i = list.findIndex((x) => x.slice(0, 3).toUpperCase() === n);
      return i < 0 ? n : String(i + base);
    });
  f[4] = names(f[4] ?? '', MONTHS, 1);
  f[5] = names(f[5] ?? '', DAYS.slice(0, 7), 0);
  return f.map((x) => (x === '?' ? '*' : x));
}

/** "At 09:00, Monday through Friday". Throws ScheduleError for an invalid expression. */
export function describeCron(expression: string): string {
  compileSchedule(expression, 'UTC'); // validates
  const [sec = '0', min = '*', hour = '*', dom = '*', month = '*', dowRaw = '*'] =
    normaliseFields(expression);
  const and =
    dowRaw.startsWith('+') ||
    (dom !== '*' && dowRaw !== '*' && (dom.startsWith('*') || dowRaw.startsWith('*')));
  const dow = dowRaw.replace(/^\+/, '');
  const out = [timeText(sec, min, hour)];
  if (dom !== '*' && dow !== '*')
    out.push(
      and
        ? `${domText(dom)}, if it is ${dowText(dow).replace(/^on /, 'a ')}`
        : `${domText(dom)} or ${dowText(dow)}`,
    );
  else if (dom !== '*') out.push(domText(dom));
  else if (dow !== '*') out.push(dowText(dow));
  if (month !== '*') {
    const m = listText(month, 'month', (n) => MONTHS[n - 1] ?? String(n));
    out.push(/through|every/.test(m) ? m : `in ${m}`);
  }
  return out.join(', ');
}

// -------------------------------------------------------------------------------------------- DST notes

export type DstEffect = 'none' | 'shifted' | 'skipped' | 'fired_once' | 'fired_twice';
export type FireLabel = 'shifted' | 'first_occurrence' | 'second_occurrence';

export interface DstNote {
  /** The instant the offset changes. */
  atMs: number;
  kind: 'gap' | 'overlap';
  offsetBeforeMs: number;
  offsetAfterMs: number;
  /** The local times that are skipped (gap) or repeated (overlap): [from, to) as wall clock "YYYY-MM-DD HH:MM". */
  localFrom: string;
  localTo: string;
  /** Local times of the schedule in that range (at most 10 listed) and how many there are. */
  localTimes: string[];
  localTimeCount: number;
  effect: DstEffect;
  /** The fires these local times produce (at most 20 listed). */
  fires: { atMs: number; label: FireLabel }[];
  message: string;
}

const wallText = (w: number) => new Date(w).toISOString().slice(0, 19).replace('T', ' ').replace(/:00$/, '');

/** What the schedule does at each offset transition of its zone in (fromMs, toMs]. */
export function dstNotes(s: CompiledSchedule, fromMs: number, toMs: number): DstNote[] {
  return zoneTransitions(s.timezone, fromMs, toMs).map((t) => {
    const gap = t.after > t.before;
    // Wall range affected: skipped [at+before, at+after) or repeated [at+after, at+before).
    const lo = t.at + Math.min(t.before, t.after);
    const hi = t.at + Math.max(t.before, t.after);
    const walls = wallTimesBetween(s.expression, lo, hi, 10_000);
    const listed = walls.slice(0, 10).map(wallText);
    const range = `${wallText(lo)}–${wallText(hi)}`;
    const base = {
      atMs: t.at,
      kind: gap ? ('gap' as const) : ('overlap' as const),
      offsetBeforeMs: t.before,
      offsetAfterMs: t.after,
      localFrom: wallText(lo),
      localTo: wallText(hi),
      localTimes: listed,
      localTimeCount: walls.length,
    };
    const times = `${joinList(listed)}${walls.length > listed.length ? ` (${walls.length} in all)` : ''}`;
    const [does, occurs] = walls.length > 1 ? ['do', 'occur'] : ['does', 'occurs'];
    const shift = `UTC${formatOffset(t.before)} → UTC${formatOffset(t.after)}`;
    if (walls.length === 0)
      return {
        ...base,
        effect: 'none',
        fires: [],
        message: `${shift}: no fire time in ${range}; unaffected`,
      };
    if (gap) {
      if (s.fixedTime && s.dst.gap === 'shift')
        return {
          ...base,
          effect: 'shifted',
          fires: [{ atMs: t.at, label: 'shifted' }],
          message: `${shift}: ${times} ${does} not exist; fires once at ${wallText(t.at + t.after)}, right after the jump (gap: shift)`,
        };
      return {
        ...base,
        effect: 'skipped',
        fires: [],
        message: s.fixedTime
          ? `${shift}: ${times} ${does} not exist and ${does} not fire (gap: skip)`
          : `${shift}: ${times} ${does} not exist; an interval schedule runs on elapsed time and skips ${walls.length > 1 ? 'them' : 'it'}`,
      };
    }
    const firstOnly = s.fixedTime && s.dst.overlap === 'first';
    const fires: DstNote['fires'] = [];
    for (const w of walls.slice(0, 20)) {
      fires.push({ atMs: w - t.before, label: 'first_occurrence' });
      if (!firstOnly) fires.push({ atMs: w - t.after, label: 'second_occurrence' });
    }
    fires.sort((a, b) => a.atMs - b.atMs);
    return {
      ...base,
      effect: firstOnly ? 'fired_once' : 'fired_twice',
      fires: fires.slice(0, 20),
      message: firstOnly
        ? `${shift}: ${times} ${occurs} twice; fires once, at the first occurrence (UTC${formatOffset(t.before)}; overlap: first)`
        : `${shift}: ${times} ${occurs} twice; fires at both occurrences (${s.fixedTime ? 'overlap: both' : 'interval schedules run on elapsed time'})`,
    };
  });
}
