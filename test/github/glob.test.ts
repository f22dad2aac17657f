import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPatternList,
  compilePattern,
  GlobError,
  globToRegex,
  lastMatch,
  selects,
} from '../../src/triggers/github/glob.js';

const m = (glob: string, value: string) => compilePattern(glob).re.testExact(value);

describe('GitHub filter globs', () => {
  // GitHub's "Filter pattern cheat sheet" examples, plus the edges of each rule.
  it.each([
    // * : any run except /
    ['feature/*', 'feature/my-branch', true],
    ['feature/*', 'feature/a/b', false],
    ['*', 'main', true],
    ['*', 'path/with/slash', false],
    ['*feature', 'feature', true],
    ['*feature', 'ver-10-feature', true],
    ['v2*', 'v2', true],
    ['v2*', 'v2.9', true],
    ['*.js', 'app.js', true],
    ['*.js', 'src/app.js', false],
    ['docs/*', 'docs/README.md', true],
    ['docs/*', 'docs/a/b.md', false],
    // ** : any run including /
    ['feature/**', 'feature/beta-a/my-branch', true],
    ['**', 'all/the/branches', true],
    ['**', '', true],
    ['**.js', 'src/js/app.js', true],
    ['docs/**', 'docs/mona/octocat.txt', true],
    ['docs/**/*.md', 'docs/README.md', true],
    ['docs/**/*.md', 'docs/a/markdown/file.md', true],
    ['docs/**/*.md', 'docs/file.txt', false],
    ['**/docs/**', 'docs/hello.md', true],
    ['**/docs/**', 'space/docs/plan/space.doc', true],
    ['**/README.md', 'README.md', true],
    ['**/README.md', 'js/README.md', true],
    ['**/README.md', 'js/NOTREADME.md', false],
    ['**/*src/**', 'my-src/code/js/app.js', true],
    ['**/*-post.md', 'path/their-post.md', true],
    ['**/migrate-*.sql', 'db/sept/migrate-v1.sql', true],
    // ? : zero or one of the preceding character
    ['*.jsx?', 'page.js', true],
    ['*.jsx?', 'page.jsx', true],
    ['*.jsx?', 'page.jsxx', false],
    ['colou?r', 'color', true],
    ['colou?r', 'colour', true],
    ['colou?r', 'colouur', false],
    ['?abc', '?abc', true],
    ['?abc', 'abc', false],
    // + : one or more of the preceding character
    ['v[12].[0-9]+.[0-9]+', 'v1.10.1', true],
    ['v[12].[0-9]+.[0-9]+', 'v2.0.0', true],
    ['v[12].[0-9]+.[0-9]+', 'v3.0.0', false],
    ['v[12].[0-9]+.[0-9]+', 'v1..1', false],
    ['ab+c', 'abbbc', true],
    ['ab+c', 'ac', false],
    ['+x', '+x', true],
    // [] : one character from a list or range
    ['[CB]at', 'Cat', true],
    ['[CB]at', 'Bat', true],
    ['[CB]at', 'cat', false],
    ['[1-2]00', '200', true],
    ['[1-2]00', '300', false],
    ['[0-9a-z]', 'q', true],
    ['[0-9a-z]', 'Q', false],
    // \ escapes, other characters are literal (regex metacharacters included)
    ['release\\+1', 'release+1', true],
    ['release\\+1', 'releasee1', false],
    ['\\!file', '!file', true],
    ['escape\\\\backslash', 'escape\\backslash', true],
    ['.yml', 'fyml', false],
    ['a(b)|c{2}^$', 'a(b)|c{2}^$', true],
    ['v1.0', 'v1x0', false],
    ['docs/ü*', 'docs/über.md', true],
    ['📦?x', 'x', true],
    // quantifier on an already quantified atom applies to all of it
    ['a*+', 'abc', true],
    ['ab?+c', 'abbc', true],
    ['a!b', 'a!b', true],
    ['line*', 'line\nbreak', true],
  ])('%s on %j → %s', (glob, value, expected) => {
    expect(m(glob, value)).toBe(expected);
  });

  it.each([
    ['', 'empty pattern'],
    ['[]', 'empty'],
    ['[abc', 'closing'],
    ['[a-Z]', 'range'],
    ['[.]', 'letters, digits'],
    ['[a-]', 'letters, digits'],
    ['abc\\', 'escapes nothing'],
  ])('rejects %j', (glob, message) => {
    expect(() => globToRegex(glob)).toThrow(GlobError);
    expect(() => globToRegex(glob)).toThrow(message);
  });

  it('negates only with a leading !', () => {
    expect(compilePattern('!main').negative).toBe(true);
    expect(compilePattern('main!').negative).toBe(false);
    expect(compilePattern('!main').re.testExact('main')).toBe(true);
  });

  it('evaluates lists in order: last match wins', () => {
    const list = ['*.md', '!README.md', 'README*'];
    expect(selects(list, 'hello.md')).toBe(true);
    expect(selects(list, 'README.md')).toBe(true); // re-included by the later positive pattern
    expect(selects(list, 'README.doc')).toBe(true);
    expect(selects(['*.md', '!README.md'], 'README.md')).toBe(false);
    expect(selects(['*.md', '!README.md'], 'docs/hello.md')).toBe(false);
    expect(selects(['!README.md', '*.md'], 'README.md')).toBe(true); // order matters
    expect(lastMatch(['releases/**', '!releases/**-alpha'], 'releases/v1-alpha')?.pattern).toBe(
      '!releases/**-alpha',
    );
    expect(lastMatch(['main'], 'dev')).toBeUndefined();
  });

  it('validates lists at deploy', () => {
    expect(checkPatternList(['main', '!dev'])).toBeUndefined();
    expect(checkPatternList(['!dev'])).toMatch(/at least one positive/);
    expect(checkPatternList(['ok', '[x'])).toMatch(/^\[1\] "\[x": /);
  });

  it('matches any literal name against itself once escaped (property)', () => {
    const quote = (s: string) => s.replace(/[*?+[\]\\!]/g, (c) => `\\${c}`);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (s) => {
        expect(m(quote(s), s)).toBe(true);
        expect(m(quote(s), `${s}x`)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('stays linear on patterns that make backtracking engines explode', () => {
    const glob = `${'a*'.repeat(30)}b`;
    const value = 'a'.repeat(5000);
    const started = performance.now();
    expect(m(glob, value)).toBe(false);
    expect(m('(a+)+b', 'a'.repeat(5000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
