// Helpers over PostgreSQL connection URLs. Kept apart so that no caller hand-edits URL strings
// (and so that no log line ever carries the password part of one).

/** The database a connection URL points at, e.g. `concord` for `postgresql://h:5432/concord`. */
export function databaseNameOf(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ''));
  if (name === '') {
    throw new Error('The database URL names no database (expected postgresql://host:port/<database>)');
  }
  return name;
}

/** The same server, user and options, pointed at another database. */
export function withDatabaseName(databaseUrl: string, databaseName: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(databaseName)}`;
  return url.toString();
}

/** A URL safe to print: the password, if any, is replaced. */
export function redactDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.password !== '') {
    url.password = '***';
  }
  return url.toString();
}
