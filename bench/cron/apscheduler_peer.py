"""Peer: APScheduler 3 AsyncIOScheduler, MemoryJobStore, misfire_grace_time=None, one CronTrigger job per
schedule (each fires once a minute at second i % 60, as in the scheduler bench). Prints one JSON line.
Run by bench/cron/run.ts with Debian's /usr/bin/python3 and python3-apscheduler."""

import argparse
import asyncio
import gc
import json
import os
import time

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
import pytz

TICK = os.sysconf("SC_CLK_TCK")


def cpu_ms():
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / TICK


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    i = min(len(values) - 1, max(0, -(-p * len(values) // 100) - 1))
    return values[int(i)]


async def main(args):
    n = args.n
    lateness = []
    start = time.time()
    warm = start + 2
    end = start + args.duration
    fired = 0

    async def job(second):
        nonlocal fired
        now = time.time()
        due = now - ((now - second) % 60)
        if warm <= due <= end - 2:
            fired += 1
            lateness.append((now - due) * 1000)

    gc.collect()
    before = rss()
    sched = AsyncIOScheduler(
        jobstores={"default": MemoryJobStore()},
        job_defaults={"misfire_grace_time": None},
        timezone=pytz.utc,
    )
    t0 = time.perf_counter()
    for i in range(n):
        s = i % 60
        trig = CronTrigger(second=s, month=1, day=1, timezone=pytz.utc) if args.idle else CronTrigger(second=s, timezone=pytz.utc)
        sched.add_job(job, trig, args=[s], id=f"j{i}")
    sched.start()
    arm_ms = (time.perf_counter() - t0) * 1000
    gc.collect()
    after = rss()
    c0 = cpu_ms()
    w0 = time.perf_counter()
    await asyncio.sleep(max(0, end - time.time()))
    cpu = (cpu_ms() - c0) / ((time.perf_counter() - w0) * 1000) * 100
    sched.shutdown(wait=False)
    expected = 0
    t = int(warm) + 1
    while t <= end - 2 and not args.idle:
        s = t % 60
        expected += n // 60 + (1 if s < n % 60 else 0)
        t += 1
    print(json.dumps({
        "peer": "apscheduler",
        "n": n,
        "armMs": arm_ms,
        "rssPerJob": (after - before) / n,
        "cpuPercent": cpu,
        "expected": expected,
        "fired": fired,
        "missed": max(0, expected - fired),
        "lateness": {"n": len(lateness), "p50": pct(lateness, 50), "p99": pct(lateness, 99),
                     "max": max(lateness) if lateness else None},
    }), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--idle", action="store_true")
    asyncio.run(main(p.parse_args()))
