import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { distinctCount, fmt } from './common.js';
import { type OursResult, runOurs } from './ours.js';

/**
 * Cron scheduler benchmark (docs/cron.md, bench/cron/README.md):
 *   npm run bench:cron -- --schedules 100000 --distinct 1000 --duration 180 --db postgres,pglite
 * Phases, one after the other in this process and in children: our scheduler loop on each database
 * (restore cold and warm, memory, a timed run measuring claim lateness, missed and doubled fires, idle
 * CPU), then one croner job per schedule, then APScheduler 3 when Debian's python3-apscheduler is there.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '10000' },
    distinct: { type: 'string', default: '1000', description: 'distinct expressions, or "all"' },
    duration: { type: 'string', default: '180' },
    idle: { type: 'string', default: '20' },
    'idle-warmup': { type: 'string', default: '60' },
    jitter: { type: 'string', default: '1' },
    db: { type: 'string', default: 'postgres' },
    'pg-url': {
      type: 'string',
      default: process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    },
    peers: { type: 'string', default: 'croner,apscheduler' },
    'peer-heap-mb': { type: 'string', default: '4096' },
  },
});
const n = Number(values.schedules);
const distinct = values.distinct === 'all' ? n : Number(values.distinct);
const durationS = Number(values.duration);
const idleS = Number(values.idle);
const idleWarmupS = Number(values['idle-warmup']);

function child(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => {
      out += c;
    });
    p.stderr.on('data', (c) => {
      out += c;
    });
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, out });
    });
  });
}

async function startStubEngine(): Promise<{ url: string; stop: () => void }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const p = spawn(process.execPath, ['--import', 'tsx', 'tools/stubEngine.ts', '--port', String(port)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (c) => (String(c).includes('listening') ? resolve() : undefined));
    p.on('exit', () => reject(new Error('stub engine exited')));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => p.kill('SIGKILL') };
}

function lastJson(out: string): Record<string, unknown> | null {
  const line = out
    .trim()
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  return line ? (JSON.parse(line) as Record<string, unknown>) : null;
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  const engine = await startStubEngine();
  const header = `${n} schedules, ${distinctCount(n, distinct)} distinct expressions, ${durationS} s run, jitter ${values.jitter} s`;
  process.stderr.write(`bench:cron — ${header}\n`);
  try {
    for (const db of values.db.split(',') as ('postgres' | 'pglite')[]) {
      process.stderr.write(`  our scheduler on ${db}…\n`);
      const r: OursResult = await runOurs({
        n,
        distinct,
        durationS,
        idleS,
        idleWarmupS,
        jitterS: Number(values.jitter),
        db,
        pgUrl: values['pg-url'],
        engineUrl: engine.url,
      });
      process.stderr.write(`${JSON.stringify(r)}\n`);
      rows.push([
        `heap + one timer (${db})`,
        fmt(r.callLateness.p50),
        fmt(r.callLateness.p99),
        fmt(r.callLateness.max),
        r.callLatenessAfterFirstMinute.n ? fmt(r.callLatenessAfterFirstMinute.p99) : '-',
        `${fmt(r.lateness.p50)} / ${fmt(r.lateness.p99)} / ${fmt(r.lateness.max)}`,
        `${r.missed} / ${r.expected}`,
        r.inFlightAfterStop ? `${r.doubled} (${r.inFlightAfterStop} left in flight)` : String(r.doubled),
        `${fmt(r.idleCpuPercent, 2)} (empty ${fmt(r.idleBaselineCpuPercent, 2)})`,
        fmt(r.runCpuPercent, 0),
        `${fmt(r.heapPerSchedule, 0)} / ${fmt(r.rssPerSchedule, 0)}`,
        `${fmt(r.restoreWarmMs, 0)} (cold ${fmt(r.restoreColdMs, 0)})`,
      ]);
    }
    const peers = values.peers.split(',').filter(Boolean);
    if (peers.includes('croner')) {
      process.stderr.write('  croner, one job per schedule…\n');
      const args = (idle: boolean) => [
        `--max-old-space-size=${values['peer-heap-mb']}`,
        '--expose-gc',
        '--import',
        'tsx',
        'bench/cron/cronerPeer.ts',
        '--n',
        String(n),
        '--distinct',
        String(distinct),
        '--duration',
        String(idle ? idleS : durationS),
        ...(idle ? ['--idle'] : []),
      ];
      const run = await child(process.execPath, args(false), (durationS + 600) * 1000);
      const idle = run.code === 0 ? await child(process.execPath, args(true), (idleS + 600) * 1000) : null;
      rows.push(peerRow('croner job per schedule', run, idle));
    }
    if (peers.includes('apscheduler')) {
      const py = '/usr/bin/python3';
      const ok = existsSync(py) && (await child(py, ['-c', 'import apscheduler'], 10_000)).code === 0;
      if (!ok) rows.push(['APScheduler 3: python3-apscheduler not installed', ...Array<string>(11).fill('')]);
      else {
        process.stderr.write('  APScheduler 3 AsyncIOScheduler…\n');
        const script = 'bench/cron/apscheduler_peer.py';
        const run = await child(
          py,
          [script, '--n', String(n), '--duration', String(durationS)],
          (durationS + 900) * 1000,
        );
        const idle =
          run.code === 0
            ? await child(
                py,
                [script, '--n', String(n), '--duration', String(idleS), '--idle'],
                (idleS + 900) * 1000,
              )
            : null;
        rows.push(peerRow('APScheduler 3 (asyncio, MemoryJobStore)', run, idle));
      }
    }
  } finally {
    engine.stop();
  }
  const head = [
    '',
    'p50 ms',
    'p99 ms',
    'max ms',
    'p99 ms after the 1st minute',
    'claim p50 / p99 / max ms',
    'missed / expected',
    'doubled',
    'idle CPU %',
    'run CPU %',
    'B/schedule heap / RSS',
    'restore ms',
  ];
  const out = [
    `### ${header}`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  process.exit(0);
}

function peerRow(
  name: string,
  run: { code: number | null; signal: string | null; out: string },
  idle: { code: number | null; out: string } | null,
): string[] {
  const r = lastJson(run.out);
  if (run.code !== 0 || !r) {
    const oom = /heap out of memory|Allocation failed/i.test(run.out);
    return [
      `${name}: ${oom ? 'out of memory' : `failed (exit ${run.code ?? run.signal})`}`,
      ...Array<string>(11).fill(''),
    ];
  }
  const l = r.lateness as { p50: number; p99: number; max: number };
  const i = idle ? lastJson(idle.out) : null;
  return [
    name,
    fmt(l.p50),
    fmt(l.p99),
    fmt(l.max),
    '-',
    '-',
    `${r.missed} / ${r.expected}`,
    '-',
    i ? fmt(Number(i.cpuPercent), 2) : '-',
    fmt(Number(r.cpuPercent), 0),
    `${r.heapPerJob !== undefined ? fmt(Number(r.heapPerJob), 0) : '-'} / ${fmt(Number(r.rssPerJob), 0)}`,
    `arm ${fmt(Number(r.armMs), 0)}`,
  ];
}

await main();
