import { replaceSection, sectionMarkers } from './benchmarks-doc';

const m = sectionMarkers('realtime');
const section = (body: string) => `${m.begin}\n${body}\n${m.end}`;

describe('replaceSection', () => {
  it('replaces only what is between the markers and keeps the hand-written text around it', () => {
    const text = `# Benchmarks\n\n${section('old figures')}\n\n**Analysis** by hand.\n`;
    const next = replaceSection(text, m, section('new figures'));
    expect(next).toBe(`# Benchmarks\n\n${section('new figures')}\n\n**Analysis** by hand.\n`);
  });

  it('appends the section when the markers are not there yet, leaving other scenarios alone', () => {
    const auth = sectionMarkers('auth');
    const text = `# Benchmarks\n\n${auth.begin}\nauth\n${auth.end}\n`;
    const next = replaceSection(text, m, section('realtime'));
    expect(next).toBe(`${text.trimEnd()}\n\n${section('realtime')}\n`);
  });

  it('finds a begin marker whose note was reworded', () => {
    const old = `<!-- bench:realtime:begin (an older note) -->\nold\n${m.end}`;
    expect(replaceSection(old, m, section('new'))).toBe(section('new'));
  });
});
