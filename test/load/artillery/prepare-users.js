#!/usr/bin/env node
// @ts-check
'use strict';
// Creates the users the Artillery scenarios log in as and writes them as CSV payloads
// (username,password): <out>/members.csv and <out>/managers.csv. Like `npm run load`, it refuses a target that is not loopback unless
// --allow-remote-target is given, and needs a ceo: CONCORD_ADMIN_USER / CONCORD_ADMIN_PASSWORD.
// Usage: node prepare-users.js --target https://localhost:8443 --members 20 --managers 4 --out users
// TLS: run with NODE_EXTRA_CA_CERTS=<repo>/.run/tls/ca.crt for the local stack.

const crypto = require('node:crypto');
const dns = require('node:dns/promises');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { parseArgs } = require('node:util');

/** @param {string} address */
function isLoopback(address) {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return net.isIPv4(v4) ? v4.startsWith('127.') : address === '::1';
}

async function main() {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      members: { type: 'string', default: '20' },
      managers: { type: 'string', default: '4' },
      out: { type: 'string', default: 'users' },
      'allow-remote-target': { type: 'boolean', default: false },
    },
  });
  if (!values.target) throw new Error('--target is required');
  const url = new URL(values.target);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = net.isIP(host) ? [host] : (await dns.lookup(host, { all: true })).map((a) => a.address);
  if (!addresses.every(isLoopback) && !values['allow-remote-target']) {
    throw new Error(`${values.target} is not loopback (${addresses.join(', ')}); pass --allow-remote-target`);
  }
  const admin = { username: process.env.CONCORD_ADMIN_USER, password: process.env.CONCORD_ADMIN_PASSWORD };
  if (!admin.username || !admin.password)
    throw new Error('set CONCORD_ADMIN_USER and CONCORD_ADMIN_PASSWORD (a ceo)');

  /** @param {string} route @param {object} body @param {string} [token] */
  const post = async (route, body, token) => {
    const res = await fetch(new URL(route, url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json().catch(() => undefined) };
  };
  const login = await post('/api/v1/auth/login', admin);
  if (login.status !== 200) throw new Error(`admin login answered ${login.status}`);
  const token = /** @type {{ access_token: string }} */ (login.body).access_token;
  const prefix = `artillery-${crypto.randomBytes(4).toString('hex')}`;
  const password = crypto.randomBytes(18).toString('base64url');
  fs.mkdirSync(values.out, { recursive: true, mode: 0o700 });
  for (const [role, count] of /** @type {const} */ ([
    ['member', Number(values.members)],
    ['manager', Number(values.managers)],
  ])) {
    const rows = [];
    for (let i = 0; i < count; i++) {
      const username = `${prefix}-${role}-${i}`;
      const created = await post('/api/v1/users', { username, password, role }, token);
      if (created.status !== 201) throw new Error(`creating ${username} answered ${created.status}`);
      rows.push(`${username},${password}`);
    }
    const file = path.join(values.out, `${role}s.csv`);
    fs.writeFileSync(file, `${rows.join('\n')}\n`, { mode: 0o600 });
    process.stdout.write(`wrote ${count} ${role} users to ${file}\n`);
  }
}

main().catch((err) => {
  process.stderr.write(`prepare-users: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
