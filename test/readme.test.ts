import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config.js';

describe('README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const table = new Set(
    [...readme.matchAll(/^\|\s*(`[A-Z0-9_]+`(?:\s*\/\s*`[A-Z0-9_]+`)*)\s*\|/gm)].flatMap((m) =>
      [...m[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((x) => x[1]!),
    ),
  );

  it('has a configuration row for every variable the service reads', () => {
    expect(CONFIG_VARIABLES.length).toBeGreaterThan(30);
    expect(CONFIG_VARIABLES.filter((v) => !table.has(v))).toEqual([]);
  });

  it('documents no variable the service does not read', () => {
    expect([...table].filter((v) => !CONFIG_VARIABLES.includes(v))).toEqual([]);
  });
});
