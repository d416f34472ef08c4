// Configuration of the Prisma CLI, and only of it (`prisma generate`, and `prisma migrate deploy` /
// `migrate status` where Prisma's schema engine is available; see
// docs/decisions/002-own-migrator.md). Prisma 7 reads the datasource URL from here, not from
// schema.prisma. The services never load this file: they get DATABASE_URL from their config.
const { defineConfig } = require('prisma/config');

module.exports = defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/concord' },
});
