// The lint rule that keeps domain/ free of transports, drivers and data access (eslint.config.mjs,
// DESIGN.md section 1), run through ESLint's Node API on fixture text under domain and
// non-domain paths. ESLint loads its flat config as an ES module, which Jest's CommonJS runtime
// cannot import, so the API runs in a child process.
import { execFile } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const RULE = '@typescript-eslint/no-restricted-imports';

// Only the rule under test, and no type information: the fixtures are not files of any tsconfig.
const LINT = `
import { ESLint } from 'eslint';
const { code, filePath } = JSON.parse(process.argv[1]);
const eslint = new ESLint({
  cwd: process.cwd(),
  ruleFilter: ({ ruleId }) => ruleId === '${RULE}',
  overrideConfig: { languageOptions: { parserOptions: { project: null, projectService: false } } },
});
const [result] = await eslint.lintText(code, { filePath });
process.stdout.write(JSON.stringify(result.messages.map((m) => ({ line: m.line, ruleId: m.ruleId, message: m.message }))));
`;

interface Finding {
  line: number;
  ruleId: string;
  message: string;
}

function lint(code: string, filePath: string): Promise<Finding[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', LINT, JSON.stringify({ code, filePath })],
      { cwd: ROOT, timeout: 60_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout)),
    );
  });
}

const FORBIDDEN = [
  "import express from 'express';",
  "import type { Request } from 'express';",
  "import { Server } from 'socket.io';",
  "import { io } from 'socket.io-client';",
  "import { Pool } from 'pg';",
  "import type { PoolClient } from 'pg';",
  "import { Redis } from 'ioredis';",
  "import { Prisma } from '@prisma/client';",
  "import { createPrismaClient } from '@concord/db';",
  "import { createSessionRepository } from '../data-access/session.repository';",
  "import { x } from '../../auth-service/src/data-access';",
  "export { Pool } from 'pg';",
];

const ALLOWED = [
  "import { z } from 'zod';",
  "import { AppError, type Clock } from '@concord/common';",
  "import { randomUUID } from 'node:crypto';",
  "import type { SessionRepository } from './auth.ports';",
  "import { dataAccessNotes } from './data-access-notes';",
];

describe('the domain/ import rule', () => {
  it('when a domain file imports a transport, a driver or data-access/, reports every such import', async () => {
    const findings = await lint(FORBIDDEN.join('\n'), 'services/any-service/src/domain/fixture.ts');

    expect(findings.filter((f) => f.ruleId === RULE).map((f) => f.line)).toEqual(
      FORBIDDEN.map((_, i) => i + 1),
    );
  });

  it('when a domain file imports zod, @concord/common, node built-ins or its own ports, reports nothing', async () => {
    expect(await lint(ALLOWED.join('\n'), 'services/any-service/src/domain/fixture.ts')).toEqual([]);
  });

  it('when the same imports are in data-access/ or http/, reports nothing: the rule is about domain/ only', async () => {
    const code = FORBIDDEN.join('\n');

    const outside = [
      await lint(code, 'services/any-service/src/data-access/fixture.ts'),
      await lint(code, 'services/any-service/src/http/fixture.ts'),
    ];

    expect(outside).toEqual([[], []]);
  });

  it('says what to do instead', async () => {
    const [finding] = await lint("import { Pool } from 'pg';", 'libs/any/src/domain/fixture.ts');

    expect(finding?.message).toMatch(/port/);
  });
});
