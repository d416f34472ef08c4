import { databaseNameOf, withDatabaseName } from '../src/database-url';

describe('databaseNameOf', () => {
  it('reads the database from the path, decoding escapes', () => {
    expect(databaseNameOf('postgresql://postgres@127.0.0.1:5432/concord')).toBe('concord');
    expect(databaseNameOf('postgresql://u:p@h/my%20db?sslmode=require')).toBe('my db');
  });

  it('when the URL names no database, throws', () => {
    expect(() => databaseNameOf('postgresql://postgres@127.0.0.1:5432')).toThrow(/names no database/);
  });
});

describe('withDatabaseName', () => {
  it('swaps only the database, keeping credentials and options', () => {
    expect(withDatabaseName('postgresql://u:p@h:5432/concord?sslmode=require', 'postgres')).toBe(
      'postgresql://u:p@h:5432/postgres?sslmode=require',
    );
  });
});
