import { migrationChecksum, scriptMatchesChecksum } from '../src/migration-checksum';

describe('migrationChecksum', () => {
  it('is the lower-case hex SHA-256 of the script bytes, the same for a string and its UTF-8 bytes', () => {
    expect(migrationChecksum('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(migrationChecksum(Buffer.from('abc', 'utf8'))).toBe(migrationChecksum('abc'));
    expect(migrationChecksum('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('scriptMatchesChecksum', () => {
  const script = 'CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n';
  const recorded = migrationChecksum(script);

  it('accepts the same script', () => {
    expect(scriptMatchesChecksum(script, recorded)).toBe(true);
  });

  it('accepts the script with CRLF line endings, and an LF script recorded with CRLF', () => {
    expect(scriptMatchesChecksum(script.replaceAll('\n', '\r\n'), recorded)).toBe(true);
    expect(scriptMatchesChecksum(script, migrationChecksum(script.replaceAll('\n', '\r\n')))).toBe(true);
  });

  it('refuses an edited script, even by one space', () => {
    expect(scriptMatchesChecksum(`${script} `, recorded)).toBe(false);
  });
});
