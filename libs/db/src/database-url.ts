// Helpers over PostgreSQL connection URLs, so that no caller hand-edits URL strings. Callers log
// the database name from here, never a whole URL: it may carry a password.

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
