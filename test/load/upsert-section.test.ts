import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sectionMarkers, upsertSection } from './benchmarks-doc';

const begin = (name: string) =>
  `<!-- bench:${name}:begin (written by \`npm run bench -- ${name}\`; edits inside are overwritten) -->`;
const end = (name: string) => `<!-- bench:${name}:end -->`;

describe('upsertSection', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'concord-bench-doc-'));
    file = path.join(dir, 'benchmarks.md');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replaces only its own section and keeps the hand-written analysis below it', () => {
    writeFileSync(
      file,
      [
        '# Benchmarks',
        begin('auth'),
        'old auth',
        end('auth'),
        'auth analysis',
        begin('settings'),
        'old settings',
        end('settings'),
        'settings analysis',
      ].join('\n'),
    );

    upsertSection(file, sectionMarkers('settings'), `${begin('settings')}\nnew settings\n${end('settings')}`);

    const text = readFileSync(file, 'utf8');
    expect(text).toContain('old auth');
    expect(text).toContain('auth analysis');
    expect(text).toContain('new settings');
    expect(text).not.toContain('old settings');
    expect(text.trimEnd().endsWith(`${end('settings')}\nsettings analysis`)).toBe(true);
  });

  it('appends a section the file does not have yet, and creates the file with its header', () => {
    upsertSection(file, sectionMarkers('settings'), `${begin('settings')}\nfirst\n${end('settings')}`);
    upsertSection(file, sectionMarkers('auth'), `${begin('auth')}\nauth\n${end('auth')}`);

    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('# Benchmarks')).toBe(true);
    expect(text.indexOf('first')).toBeLessThan(text.indexOf('auth\n'));
  });
});
