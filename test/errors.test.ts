import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../src/errors.js';
import { Registry } from '../src/triggers/registry.js';

describe('error catalogue', () => {
  new Registry(); // registers the kinds' codes
  const documented = new Map<string, number>();
  for (const m of readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8').matchAll(
    /^\|\s*`([A-Z0-9_]+)`\s*\|\s*(\d{3})\s*\|/gm,
  )) {
    documented.set(m[1]!, Number(m[2]));
  }

  it('documents every code with its status', () => {
    for (const [code, spec] of errorCatalogue()) {
      expect(documented.get(code), `${code} missing from docs/errors.md`).toBe(spec.status);
    }
  });

  it('documents no code that does not exist', () => {
    for (const code of documented.keys())
      expect(errorCatalogue().has(code), `${code} is documented but not defined`).toBe(true);
  });

  it('uses the SCHED_ prefix', () => {
    for (const code of errorCatalogue().keys()) expect(code).toMatch(/^SCHED_[A-Z0-9_]+$/);
  });
});
