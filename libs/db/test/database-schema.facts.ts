// Reads from pg_catalog the same facts prisma-schema.facts.ts derives from schema.prisma, in the
// same notation, for the tables of one schema (the migrator's own _prisma_migrations excluded).
import type { ClientBase } from 'pg';

const REFERENTIAL_ACTIONS: Record<string, string> = {
  c: 'CASCADE',
  r: 'RESTRICT',
  a: 'NO ACTION',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

/** Writes a stored default the way Prisma's schema states it. */
function normaliseDefault(expression: string): string {
  if (expression === 'CURRENT_TIMESTAMP') {
    return 'now()';
  }
  if (/^nextval\('.*'::regclass\)$/.test(expression)) {
    return 'autoincrement';
  }
  // '0'::integer, 'x'::text, 'a'::character varying: drop the cast Postgres adds to literals.
  return expression.replace(/::[a-z ]+(\(\d+(,\d+)?\))?(\[\])?$/, '');
}

/** The facts of `schema` (default public) in the connected database, sorted. */
export async function factsOfDatabase(client: ClientBase, schema = 'public'): Promise<string[]> {
  const facts: string[] = [];

  const tables = await client.query<{ table_name: string }>(
    `SELECT c.relname AS table_name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'`,
    [schema],
  );
  const tableNames = tables.rows.map((row) => row.table_name);
  facts.push(...tableNames.map((name) => `table ${name}`));

  const columns = await client.query<{
    table_name: string;
    column_name: string;
    type: string;
    not_null: boolean;
    default_expr: string | null;
  }>(
    `SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default_expr
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE c.relname = ANY($1) AND c.relnamespace = $2::regnamespace AND a.attnum > 0 AND NOT a.attisdropped`,
    [tableNames, schema],
  );
  for (const column of columns.rows) {
    const fallback = column.default_expr === null ? '' : ` DEFAULT ${normaliseDefault(column.default_expr)}`;
    facts.push(
      `column ${column.table_name}.${column.column_name} ${column.type}${column.not_null ? ' NOT NULL' : ' NULL'}${fallback}`,
    );
  }

  const indexes = await client.query<{
    table_name: string;
    index_name: string;
    is_primary: boolean;
    is_unique: boolean;
    method: string;
    predicate: string | null;
    keys: string[];
  }>(
    `SELECT t.relname AS table_name, i.relname AS index_name, ix.indisprimary AS is_primary,
            ix.indisunique AS is_unique, am.amname AS method, pg_get_expr(ix.indpred, ix.indrelid) AS predicate,
            ARRAY(
              SELECT pg_get_indexdef(ix.indexrelid, k + 1, true)
                     || CASE WHEN ix.indoption[k] & 1 = 1 THEN ' DESC' ELSE '' END
                FROM generate_series(0, ix.indnkeyatts - 1) AS k
               ORDER BY k
            ) AS keys
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_am am ON am.oid = i.relam
      WHERE t.relname = ANY($1) AND t.relnamespace = $2::regnamespace`,
    [tableNames, schema],
  );
  for (const index of indexes.rows) {
    const kind = index.is_primary ? 'PRIMARY KEY' : index.is_unique ? 'UNIQUE' : 'INDEX';
    const where = index.predicate === null ? '' : ` WHERE ${index.predicate}`;
    facts.push(
      `index ${index.table_name}.${index.index_name} ${kind} USING ${index.method} (${index.keys.join(', ')})${where}`,
    );
  }

  const foreignKeys = await client.query<{
    table_name: string;
    constraint_name: string;
    columns: string[];
    ref_table: string;
    ref_columns: string[];
    on_delete: string;
    on_update: string;
  }>(
    `SELECT t.relname AS table_name, con.conname AS constraint_name, rt.relname AS ref_table,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns,
            con.confdeltype AS on_delete, con.confupdtype AS on_update
       FROM pg_constraint con
       JOIN pg_class t ON t.oid = con.conrelid
       JOIN pg_class rt ON rt.oid = con.confrelid
      WHERE con.contype = 'f' AND t.relname = ANY($1) AND t.relnamespace = $2::regnamespace`,
    [tableNames, schema],
  );
  for (const fk of foreignKeys.rows) {
    facts.push(
      `foreign key ${fk.table_name}.${fk.constraint_name} (${fk.columns.join(', ')}) ` +
        `REFERENCES ${fk.ref_table} (${fk.ref_columns.join(', ')}) ` +
        `ON DELETE ${REFERENTIAL_ACTIONS[fk.on_delete]} ON UPDATE ${REFERENTIAL_ACTIONS[fk.on_update]}`,
    );
  }
  return facts.sort();
}
