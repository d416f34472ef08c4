// @ts-check
'use strict';
// Renders the gateway's complete nginx.conf: the one source of truth, no template beside it.
// docs/gateway.md explains every directive; docs/decisions/003-gateway.md the trust and retry model.

const path = require('node:path');
const { GATEWAY_PROBLEMS, NOT_DEPLOYED_PROBLEM, UNAVAILABLE_RETRY_AFTER_S } = require('./gateway-problems');
const { readServiceList } = require('../service-list/service-list');

/** @typedef {import('./gateway-problems').GatewayProblem} GatewayProblem */
/**
 * @typedef {{ host: string, port: number }} ListenAddress
 * @typedef {string} UpstreamName a service's `concord.upstream` (`auth`, `settings`, `realtime`)
 * @typedef {Record<UpstreamName, string[] | undefined>} Upstreams
 * @typedef {string} CredentialEndpoint last segment of a credential path (`login` for /api/v1/auth/login)
 * @typedef {{ rate: string, burst: number }} RateLimit nginx `limit_req` rate (`10r/s`, `30r/m`) and burst
 *
 * @typedef {object} GatewayService the gateway's view of one service of the list
 * @property {UpstreamName} upstream
 * @property {ReadonlyArray<{ path: string, match: 'exact' | 'prefix' }>} routes
 * @property {readonly string[]} credentialEndpoints paths whose POST is limited per client address
 * @property {boolean} websocket
 * @property {'none' | 'client-address'} affinity
 * @property {number} readTimeoutSeconds
 *
 * @typedef {object} NginxConfigOptions
 * @property {string} runDir absolute directory for pid, logs and temp files
 * @property {ListenAddress | ListenAddress[]} httpsListen TLS listener(s); the first port is the redirect target
 * @property {ListenAddress | ListenAddress[]} httpListen plain listener(s) that only redirect to https
 * @property {string} tlsCert absolute path of the server certificate (PEM)
 * @property {string} tlsKey absolute path of the server key (PEM)
 * @property {string} [proxyBind] source address of upstream connections (default 127.0.0.2)
 * @property {Upstreams} upstreams `host:port` lists by upstream name; a service with an empty list answers 503
 * @property {readonly GatewayService[]} [services] routes and flags; default: the repository's service list
 * @property {boolean} exposeReplicaHeader pass the services' `X-Concord-Replica` through
 * @property {Partial<Record<CredentialEndpoint, RateLimit>>} [credentialLimits] per-address limit of POST on
 *   each credential endpoint (default 10r/s, burst 20 each)
 * @property {string} [clientMaxBodySize] default 1m
 * @property {string} [largeClientHeaderBuffers] `number size`, default `4 8k`
 * @property {string} [largeHeaderBuffers] alias of largeClientHeaderBuffers
 * @property {number | 'auto'} [workerProcesses] default 2
 * @property {number} [workerConnections] default 4096
 * @property {number} [upstreamMaxFails] default 1; 0 never marks a replica down
 * @property {string} [upstreamFailTimeout] default 5s
 * @property {string} [user] worker user; defaults to `root` when this process runs as root, else unset
 * @property {string} [resolver] DNS server nginx re-resolves upstream names with (`server ... resolve`,
 *   nginx >= 1.27.3); unset: names are resolved once, at start
 */

/**
 * The gateway's view of a service list (proxy/service-list): routes, credential endpoints and the
 * realtime flags, in list order.
 * @param {readonly import('../service-list/service-list').ServiceDefinition[]} [services]
 * @returns {GatewayService[]}
 */
function gatewayServices(services = readServiceList()) {
  return services.map((s) => ({
    upstream: s.upstream,
    routes: s.gateway.routes,
    credentialEndpoints: s.gateway.credentialEndpoints,
    websocket: s.gateway.websocket,
    affinity: s.gateway.affinity,
    readTimeoutSeconds: s.gateway.readTimeoutSeconds,
  }));
}

/**
 * The names of the credential limits (`login`, `refresh`, ...), one `limit_req_zone` each.
 * @param {readonly GatewayService[]} [services] default: the repository's service list
 * @returns {CredentialEndpoint[]}
 */
function credentialEndpointNames(services = gatewayServices()) {
  return services.flatMap((s) => s.credentialEndpoints.map(endpointName));
}

/** @param {string} endpoint */
function endpointName(endpoint) {
  return endpoint.split('/').at(-1) ?? '';
}

/** @type {RateLimit} */
const DEFAULT_CREDENTIAL_LIMIT = Object.freeze({ rate: '10r/s', burst: 20 });

/** One 16-bit group as ngx_inet6_ntop prints it: lower-case hex without leading zeros. */
const G = '[0-9a-f]{1,4}';

/**
 * `$remote_addr` -> the client's bucket for per-address limits: an IPv4 address as it is, an IPv6
 * address as its /64 (DESIGN.md section 4: one IPv6 subscriber usually holds a whole /64, so a
 * per-address limit keyed on the full address would give it 2^64 budgets). nginx has no prefix
 * function, so the /64 is read off the text, which ngx_inet6_ntop prints RFC 5952 style: lower-case
 * hex without leading zeros, the first longest run of two or more zero groups as `::`, and a dotted
 * IPv4 tail only for `::ffff:a.b.c.d` and for addresses whose first 96 bits are zero (`::a.b.c.d`).
 * One pattern per place the `::` can sit relative to the first four groups; first match wins.
 * @type {ReadonlyArray<readonly [string, string]>}
 */
const CLIENT_BUCKETS = Object.freeze([
  // IPv4, and IPv4-mapped IPv6 (an IPv4 client of a dual-stack socket): the IPv4 address.
  ['~^(\\d+\\.\\d+\\.\\d+\\.\\d+)$', '$1'],
  ['~^::ffff:(\\d+\\.\\d+\\.\\d+\\.\\d+)$', '$1'],
  // The first four groups are written out (no `::`, or it comes after them).
  [`~^(${G}):(${G}):(${G}):(${G}):`, '$1:$2:$3:$4::/64'],
  // `::` after three, two or one groups; after one it covers the fourth group unless five follow.
  [`~^(${G}):(${G}):(${G})::`, '$1:$2:$3:0::/64'],
  [`~^(${G}):(${G})::`, '$1:$2:0:0::/64'],
  [`~^(${G})::(${G}):${G}:${G}:${G}:${G}$`, '$1:0:0:$2::/64'],
  [`~^(${G})::`, '$1:0:0:0::/64'],
  // A leading `::` covers the first four groups unless six or five groups follow it.
  [`~^::(${G}):(${G}):${G}:${G}:${G}:${G}$`, '0:0:$1:$2::/64'],
  [`~^::(${G}):${G}:${G}:${G}:${G}$`, '0:0:0:$1::/64'],
  ['~^::', '0:0:0:0::/64'],
]);

/** Mozilla "intermediate" (generator 6.x): TLS 1.2 AEAD suites with forward secrecy; 1.3 suites are fixed. */
const MOZILLA_INTERMEDIATE_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const HSTS = 'max-age=63072000; includeSubDomains';

/**
 * Renders the complete nginx.conf for the gateway.
 * @param {NginxConfigOptions} opts
 * @returns {string}
 */
function renderNginxConfig(opts) {
  const o = normalizeOptions(opts);
  const httpsPort = o.httpsListen[0]?.port;
  if (httpsPort === undefined) throw new Error('renderNginxConfig: httpsListen needs at least one address');
  // One 429 body serves every limit, so it names the longest wait any of them imposes.
  const limitedRetryAfter = Math.max(
    1,
    ...Object.values(o.credentialLimits).map((limit) => retryAfterForRate(limit.rate)),
  );
  const redirectTarget = httpsPort === 443 ? 'https://$host' : `https://$host:${httpsPort}`;

  /** @type {string[]} */
  const out = [];
  out.push(
    '# Generated by proxy/gateway (renderNginxConfig). Do not edit: change the renderer instead.',
    '# Why each directive is here: docs/gateway.md.',
  );
  if (o.user) {
    out.push(
      '# The master runs as root (containers, CI): left alone nginx would drop its workers to `nobody`,',
      '# which cannot traverse the 0700 run directory to spool request bodies. Running them as the invoking',
      '# user is exactly what an unprivileged run does.',
      `user ${o.user};`,
    );
  }
  out.push(
    `worker_processes ${o.workerProcesses};`,
    `pid ${q(path.join(o.runDir, 'nginx.pid'))};`,
    `error_log ${q(path.join(o.runDir, 'error.log'))} warn;`,
    '# Bounds SIGQUIT: without it a graceful stop waits for every WebSocket to close on its own.',
    'worker_shutdown_timeout 10s;',
    '',
    'events {',
    `  worker_connections ${o.workerConnections};`,
    '}',
    '',
    'http {',
    '  server_tokens off;',
    ...(o.resolver === ''
      ? []
      : [
          '  # Upstream names are re-resolved while running (`server ... resolve`): pods come and go.',
          `  resolver ${o.resolver} valid=5s ipv6=off;`,
          '  resolver_timeout 2s;',
        ]),
    '  default_type application/octet-stream;',
    '  tcp_nodelay on;',
    '',
    '  # Every temp path inside runDir so nothing touches /var/lib/nginx (unprivileged, parallel runs).',
    `  client_body_temp_path ${q(path.join(o.runDir, 'client_body_temp'))};`,
    `  proxy_temp_path ${q(path.join(o.runDir, 'proxy_temp'))};`,
    `  fastcgi_temp_path ${q(path.join(o.runDir, 'fastcgi_temp'))};`,
    `  uwsgi_temp_path ${q(path.join(o.runDir, 'uwsgi_temp'))};`,
    `  scgi_temp_path ${q(path.join(o.runDir, 'scgi_temp'))};`,
    '',
    '  # $uri, not $request_uri: query strings can carry secrets and must not reach the log.',
    '  log_format concord_json escape=json \'{"time":"$time_iso8601","request_id":"$request_id",\'',
    '    \'"remote_addr":"$remote_addr","method":"$request_method","uri":"$uri",\'',
    '    \'"protocol":"$server_protocol","tls":"$ssl_protocol","status":$status,\'',
    '    \'"body_bytes_sent":$body_bytes_sent,"request_time":$request_time,\'',
    '    \'"upstream_addr":"$upstream_addr","upstream_status":"$upstream_status",\'',
    '    \'"upstream_response_time":"$upstream_response_time","user_agent":"$http_user_agent"}\';',
    `  access_log ${q(path.join(o.runDir, 'access.log'))} concord_json;`,
    '',
    `  client_max_body_size ${o.clientMaxBodySize};`,
    `  large_client_header_buffers ${o.largeClientHeaderBuffers};`,
    '',
    '  # Empty (not `close`) without an Upgrade so long-polling requests still reuse upstream keepalive.',
    '  map $http_upgrade $connection_upgrade {',
    '    default upgrade;',
    "    '' '';",
    '  }',
    '',
    '  # Problem bodies echo the request target only when it cannot break the JSON string (nginx has no',
    '  # JSON escaping outside log_format); anything else gets an empty (same-document) reference.',
    '  map $request_uri $problem_instance {',
    '    "~^[A-Za-z0-9._~/?&=%:@!*+,;()\'-]{0,2048}$" $request_uri;',
    "    default '';",
    '  }',
    '',
    '  # Per-address limits count an IPv4 address, or the /64 of an IPv6 one (docs/gateway.md).',
    ...clientBucketMap('$remote_addr', '$concord_client_bucket').map(indent(2)),
    '',
    '  # Only POST is limited: an empty key is not accounted, so GET/HEAD/OPTIONS on the paths stay free.',
    '  map $request_method $concord_credential_key {',
    '    POST $concord_client_bucket;',
    "    default '';",
    '  }',
    ...Object.entries(o.credentialLimits).map(
      ([name, limit]) =>
        `  limit_req_zone $concord_credential_key zone=concord_${name}:10m rate=${limit.rate};`,
    ),
    '  limit_req_status 429;',
    '  limit_req_log_level warn;',
    '',
    '  # Request targets that nginx and the services would read differently: a fragment (`#`, never part',
    "  # of a request target, RFC 9112 section 3.2) and a backslash make Node's URL parser take its legacy",
    '  # path, which turns `\\` into `/`; raw bytes outside printable ASCII are not URI characters at all',
    '  # (RFC 3986). Refused before routing, so no spelling can reach a handler past a limit.',
    '  map $request_uri $concord_unsafe_target {',
    '    "~[#\\x5c]|[^\\x21-\\x7e]" 1;',
    '    default 0;',
    '  }',
    '',
  );

  for (const service of o.services) {
    const name = service.upstream;
    const servers = o.upstreams[name] ?? [];
    if (servers.length === 0) continue;
    out.push(`  upstream concord_${name} {`);
    out.push(`    zone concord_${name} 64k;`);
    if (service.affinity === 'client-address') {
      out.push(
        '    # Engine.IO long-polling must keep hitting the replica holding its session; consistent hashing',
        '    # moves only 1/N of the clients when a replica comes or goes. Must precede `keepalive`.',
        '    hash $remote_addr consistent;',
      );
    }
    const resolve = o.resolver === '' ? '' : ' resolve';
    for (const server of servers) {
      out.push(
        `    server ${server}${resolve} max_fails=${o.upstreamMaxFails} fail_timeout=${o.upstreamFailTimeout};`,
      );
    }
    out.push(
      "    # 60 s is below Node's keepAliveTimeout (65 s): nginx always drops an idle connection first, so it",
      '    # never writes a request onto a socket the service is closing (a write there could not be retried;',
      '    # docs/decisions/003-gateway.md).',
      '    keepalive 32;',
      '    keepalive_timeout 60s;',
      '  }',
      '',
    );
  }

  // --- https server ---
  out.push('  server {');
  for (const l of o.httpsListen) out.push(`    listen ${listenAddress(l)} ssl http2;`);
  out.push(
    '    server_name localhost;',
    '',
    `    ssl_certificate ${q(o.tlsCert)};`,
    `    ssl_certificate_key ${q(o.tlsKey)};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    `    ssl_ciphers ${MOZILLA_INTERMEDIATE_CIPHERS};`,
    '    ssl_ecdh_curve X25519:prime256v1:secp384r1;',
    '    # All intermediate suites are strong; letting the client pick lets it prefer what its hardware runs fast.',
    '    ssl_prefer_server_ciphers off;',
    '    ssl_session_cache shared:concord_tls:10m;',
    '    ssl_session_timeout 1d;',
    '    # Ticket keys would never rotate in a long-running nginx, which defeats forward secrecy.',
    '    ssl_session_tickets off;',
    '',
    '    # A plain-HTTP request on the TLS port gets the same redirect as the http listener.',
    '    error_page 497 =308 https://$host:$server_port$request_uri;',
    ...errorPages(GATEWAY_PROBLEMS).map(indent(4)),
    '    # The write path is reached through an internal error_page redirect; its own 502 must still be',
    '    # turned into a problem body.',
    '    recursive_error_pages on;',
    ...gatewayHeaders().map(indent(4)),
    '',
    '    if ($concord_unsafe_target) {',
    '      return 400;',
    '    }',
    '',
    '    # Prometheus metrics live on separate ports that the gateway never proxies; refuse the path anyway',
    '    # so a future catch-all route cannot expose it.',
    '    location /metrics {',
    ...gatewayHeaders().map(indent(6)),
    '      return 404;',
    '    }',
    '',
    '    location / {',
    ...gatewayHeaders().map(indent(6)),
    '      return 404;',
    '    }',
    '',
  );

  const routes = o.services.flatMap((service) => service.routes.map((route) => ({ service, ...route })));
  for (const route of routes) {
    const deployed = deployedServers(route.service, o).length > 0;
    const match = route.match === 'exact' ? `= ${route.path}` : route.path;
    out.push(`    location ${match} {`);
    if (deployed) {
      out.push(...readLocation(route.service, o).map(indent(6)));
    } else {
      out.push(
        ...errorPages(GATEWAY_PROBLEMS.map((p) => (p.from.includes(503) ? NOT_DEPLOYED_PROBLEM : p))).map(
          indent(6),
        ),
        ...gatewayHeaders().map(indent(6)),
        '      return 503;',
      );
    }
    out.push('    }', '');
  }

  // Without these, nginx answers a prefix location's bare path (`/api/v1/auth`) with its own 301 to the
  // slash form; the API has no such resources, so they get the ordinary 404 problem.
  for (const route of routes) {
    const bare = route.path.replace(/\/$/, '');
    if (route.match === 'exact' || routes.some((r) => r.match === 'exact' && r.path === bare)) continue;
    out.push(
      `    location = ${bare} {`,
      ...gatewayHeaders().map(indent(6)),
      '      return 404;',
      '    }',
      '',
    );
  }

  for (const service of o.services) {
    if (deployedServers(service, o).length === 0) continue;
    for (const endpoint of service.credentialEndpoints) {
      const name = endpointName(endpoint);
      out.push(
        '    # Credential endpoint: a per-address budget at the edge (the service adds per-username counters),',
        '    # never retried on another replica. `=` matches the normalised URI, so `//x`, `/./x` and `%78`',
        '    # spellings are limited here too; the services answer every other spelling 404 (exact paths).',
        `    location = ${endpoint} {`,
        `      limit_req zone=concord_${name} burst=${o.credentialLimits[name]?.burst} nodelay;`,
        ...proxyDirectives(service, o).map(indent(6)),
        '      proxy_next_upstream off;',
        '    }',
        '',
      );
    }
  }

  for (const service of o.services) {
    const name = service.upstream;
    if (deployedServers(service, o).length === 0) continue;
    out.push(
      '    # Writes: never replayed on a second replica, even for PUT/DELETE (which nginx would retry by',
      '    # default) -- a replayed CAS write would answer 412 for a change that was in fact applied.',
      `    location @${name}_write {`,
      ...proxyDirectives(service, o).map(indent(6)),
      '      proxy_next_upstream off;',
      '    }',
      '',
    );
  }

  for (const problem of [...GATEWAY_PROBLEMS, NOT_DEPLOYED_PROBLEM]) {
    out.push(
      ...problemLocation(problem, problem.status === 429 ? limitedRetryAfter : UNAVAILABLE_RETRY_AFTER_S),
    );
  }
  out.push('  }', '');

  // --- http server: redirect only ---
  out.push('  server {');
  for (const l of o.httpListen) out.push(`    listen ${listenAddress(l)};`);
  out.push(
    '    server_name localhost;',
    '    # 308 keeps the method and body (301/302 may turn a POST into a GET). No HSTS here: browsers',
    '    # ignore it over plain HTTP (RFC 6797 section 8.1).',
    `    return 308 ${redirectTarget}$request_uri;`,
    '  }',
    '}',
    '',
  );
  return out.join('\n');
}

/**
 * Directives of a routed location: reads are proxied with retries, other methods are handed to the
 * service's write location.
 * @param {GatewayService} service
 * @param {NormalizedOptions} o
 * @returns {string[]}
 */
function readLocation(service, o) {
  const name = service.upstream;
  return [
    // `if` holding only `return` is the safe use of `if` in a location.
    `error_page 418 = @${name}_write;`,
    ...errorPages(GATEWAY_PROBLEMS),
    'if ($request_method !~ ^(GET|HEAD)$) {',
    '  return 418;',
    '}',
    ...proxyDirectives(service, o),
    '# GET/HEAD are retried once on the other replica. Other methods were handed to the write location',
    '# above: nginx itself skips retries only for POST/PATCH/LOCK and would replay PUT and DELETE.',
    'proxy_next_upstream error timeout http_502 http_503 http_504;',
    'proxy_next_upstream_tries 2;',
    'proxy_next_upstream_timeout 10s;',
  ];
}

/**
 * Proxy directives shared by every location of a service. They are repeated per location because
 * proxy_set_header and add_header are inherited only by locations that define none of their own.
 * @param {GatewayService} service
 * @param {NormalizedOptions} o
 * @returns {string[]}
 */
function proxyDirectives(service, o) {
  const name = service.upstream;
  const timeout = `${service.readTimeoutSeconds}s`;
  return [
    ...gatewayHeaders(),
    `proxy_pass http://concord_${name};`,
    'proxy_http_version 1.1;',
    'proxy_redirect off;',
    // The services trust X-Forwarded-* only from this source address (TRUSTED_PROXIES=127.0.0.2/32).
    `proxy_bind ${o.proxyBind};`,
    'proxy_connect_timeout 2s;',
    'proxy_set_header Host $host;',
    // Overwritten, never appended: nginx is the edge, so anything the client sent is forged.
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header X-Forwarded-Host $host;',
    'proxy_set_header X-Forwarded-Port $server_port;',
    'proxy_set_header Forwarded "";',
    'proxy_set_header X-Request-Id $request_id;',
    // A WebSocket or long-poll idles up to Socket.IO's ping interval: the service's read timeout (from
    // the service list) must exceed it, or nginx cuts healthy connections.
    ...(service.websocket
      ? [
          'proxy_set_header Upgrade $http_upgrade;',
          'proxy_set_header Connection $connection_upgrade;',
          `proxy_read_timeout ${timeout};`,
          `proxy_send_timeout ${timeout};`,
        ]
      : ['proxy_set_header Connection "";', `proxy_read_timeout ${timeout};`]),
    // The gateway owns these response headers; the services' copies would duplicate them.
    'proxy_hide_header Strict-Transport-Security;',
    'proxy_hide_header X-Request-Id;',
    'proxy_hide_header X-Powered-By;',
    ...(o.exposeReplicaHeader ? [] : ['proxy_hide_header X-Concord-Replica;']),
  ];
}

/**
 * Headers on every https response. `always` covers 4xx/5xx; they are repeated in each location because
 * one add_header in a location discards all inherited ones.
 * @returns {string[]}
 */
function gatewayHeaders() {
  return [
    `add_header Strict-Transport-Security ${q(HSTS)} always;`,
    'add_header X-Request-Id $request_id always;',
  ];
}

/**
 * @param {readonly GatewayProblem[]} problems
 * @returns {string[]}
 */
function errorPages(problems) {
  return problems.map((p) => `error_page ${p.from.join(' ')} =${p.status} ${p.location};`);
}

/**
 * @param {GatewayProblem} p
 * @param {number} retryAfterSeconds
 * @returns {string[]}
 */
function problemLocation(p, retryAfterSeconds) {
  const type = `urn:concord:error:${p.error.toLowerCase().replace(/_/g, '-')}`;
  // Built by hand, not JSON.stringify, to splice in nginx variables. Every literal here is plain ASCII
  // without quotes or backslashes, checked below, so the single-quoted nginx string stays intact.
  const body =
    `{"type":"${type}","title":"${p.title}","status":${p.status},"detail":"${p.detail}",` +
    `"instance":"$problem_instance","code":${p.code},"error":"${p.error}","request_id":"$request_id"}`;
  if (/['\\]/.test(p.title + p.detail))
    throw new Error(`problem text must not contain quotes: ${p.location}`);
  return [
    `    location ${p.location} {`,
    '      default_type application/problem+json;',
    ...gatewayHeaders().map(indent(6)),
    '      add_header Cache-Control "no-store" always;',
    '      add_header X-Content-Type-Options nosniff always;',
    ...(p.retryAfter ? [`      add_header Retry-After ${retryAfterSeconds} always;`] : []),
    `      return ${p.status} '${body}';`,
    '    }',
    '',
  ];
}

/**
 * @typedef {object} NormalizedOptions
 * @property {string} runDir
 * @property {ListenAddress[]} httpsListen
 * @property {ListenAddress[]} httpListen
 * @property {string} tlsCert
 * @property {string} tlsKey
 * @property {string} proxyBind
 * @property {readonly GatewayService[]} services
 * @property {Record<UpstreamName, string[]>} upstreams
 * @property {boolean} exposeReplicaHeader
 * @property {Record<CredentialEndpoint, RateLimit>} credentialLimits
 * @property {string} clientMaxBodySize
 * @property {string} largeClientHeaderBuffers
 * @property {number | 'auto'} workerProcesses
 * @property {number} workerConnections
 * @property {number} upstreamMaxFails
 * @property {string} upstreamFailTimeout
 * @property {string} user
 * @property {string} resolver
 */

/**
 * Validates every value spliced into the config so that no option can inject directives.
 * @param {NginxConfigOptions} opts
 * @returns {NormalizedOptions}
 */
function normalizeOptions(opts) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const services = (opts.services ?? gatewayServices()).map(gatewayService);
  const known = services.map((s) => s.upstream);
  for (const name of Object.keys(opts.upstreams)) {
    if (!known.includes(name)) {
      throw new Error(`renderNginxConfig: upstreams names ${JSON.stringify(name)}, which no service has`);
    }
  }
  /** @type {Record<UpstreamName, string[]>} */
  const upstreams = {};
  for (const name of known) {
    const list = opts.upstreams[name] ?? [];
    for (const server of list) {
      if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(server)) {
        throw new Error(
          `renderNginxConfig: upstream ${name} has an invalid host:port ${JSON.stringify(server)}`,
        );
      }
    }
    upstreams[name] = [...list];
  }
  /** @type {NormalizedOptions} */
  const o = {
    runDir: safePath('runDir', opts.runDir),
    httpsListen: listenList('httpsListen', opts.httpsListen),
    httpListen: listenList('httpListen', opts.httpListen),
    tlsCert: safePath('tlsCert', opts.tlsCert),
    tlsKey: safePath('tlsKey', opts.tlsKey),
    proxyBind: match('proxyBind', opts.proxyBind ?? '127.0.0.2', /^[0-9A-Fa-f:.]+$/),
    services,
    upstreams,
    exposeReplicaHeader: opts.exposeReplicaHeader === true,
    credentialLimits: credentialLimits(opts.credentialLimits ?? {}, credentialEndpointNames(services)),
    clientMaxBodySize: match('clientMaxBodySize', opts.clientMaxBodySize ?? '1m', /^\d+[kKmMgG]?$/),
    largeClientHeaderBuffers: match(
      'largeClientHeaderBuffers',
      opts.largeClientHeaderBuffers ?? opts.largeHeaderBuffers ?? '4 8k',
      /^\d+ \d+[kKmM]?$/,
    ),
    workerProcesses:
      opts.workerProcesses === 'auto' ? 'auto' : integer('workerProcesses', opts.workerProcesses ?? 2, 1),
    workerConnections: integer('workerConnections', opts.workerConnections ?? 4096, 16),
    upstreamMaxFails: integer('upstreamMaxFails', opts.upstreamMaxFails ?? 1, 0),
    upstreamFailTimeout: match('upstreamFailTimeout', opts.upstreamFailTimeout ?? '5s', /^\d+(ms|s|m)?$/),
    user: match('user', opts.user ?? (isRoot ? 'root' : ''), /^([a-z_][a-z0-9_-]*( [a-z_][a-z0-9_-]*)?)?$/),
    resolver: match('resolver', opts.resolver ?? '', /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])?$/),
  };
  if (!path.isAbsolute(o.runDir)) throw new Error('renderNginxConfig: runDir must be absolute');
  return o;
}

/**
 * Checks a service's gateway view as the service list does, since its strings end up in the config.
 * @param {GatewayService} s
 * @returns {GatewayService}
 */
function gatewayService(s) {
  match('services.upstream', s.upstream, /^[a-z][a-z0-9]{0,15}$/);
  for (const r of s.routes) {
    match(`services.${s.upstream}.routes.path`, r.path, /^\/[A-Za-z0-9._~/-]*$/);
    match(`services.${s.upstream}.routes.match`, r.match, /^(exact|prefix)$/);
  }
  for (const e of s.credentialEndpoints)
    match(`services.${s.upstream}.credentialEndpoints`, e, /^\/[A-Za-z0-9._~/-]*\/[a-z]+$/);
  integer(`services.${s.upstream}.readTimeoutSeconds`, s.readTimeoutSeconds, 1, 3600);
  return s;
}

/**
 * @param {Partial<Record<CredentialEndpoint, RateLimit>>} limits
 * @param {CredentialEndpoint[]} names the credential endpoints of the services
 * @returns {Record<CredentialEndpoint, RateLimit>}
 */
function credentialLimits(limits, names) {
  for (const name of Object.keys(limits)) {
    if (!names.includes(name)) {
      throw new Error(`renderNginxConfig: credentialLimits has an unknown endpoint ${JSON.stringify(name)}`);
    }
  }
  /** @type {Record<CredentialEndpoint, RateLimit>} */
  const out = {};
  for (const name of names) {
    const limit = limits[name] ?? DEFAULT_CREDENTIAL_LIMIT;
    out[name] = {
      rate: match(`credentialLimits.${name}.rate`, limit.rate, /^\d+r\/[sm]$/),
      burst: integer(`credentialLimits.${name}.burst`, limit.burst, 0),
    };
  }
  return out;
}

/**
 * The `map` that puts a client address into its bucket for per-address limits ({@link CLIENT_BUCKETS}).
 * Exported so a test can feed it every IPv6 compression position through real nginx.
 * @param {string} source variable holding the address as nginx prints it, e.g. `$remote_addr`
 * @param {string} target variable to define, e.g. `$concord_client_bucket`
 * @returns {string[]}
 */
function clientBucketMap(source, target) {
  return [
    `map ${source} ${target} {`,
    ...CLIENT_BUCKETS.map(([pattern, value]) => `  "${pattern}" ${value};`),
    `  default ${source};`,
    '}',
  ];
}

/**
 * @param {string} name
 * @param {ListenAddress | ListenAddress[]} value
 * @returns {ListenAddress[]}
 */
function listenList(name, value) {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new Error(`renderNginxConfig: ${name} is empty`);
  for (const l of list) {
    match(`${name}.host`, l.host, /^[0-9A-Za-z:.[\]-]+$/);
    integer(`${name}.port`, l.port, 1, 65535);
  }
  return list;
}

/** @param {ListenAddress} l */
function listenAddress(l) {
  const host = l.host.includes(':') && !l.host.startsWith('[') ? `[${l.host}]` : l.host;
  return `${host}:${l.port}`;
}

/**
 * @param {string} name
 * @param {string} value
 * @param {RegExp} re
 */
function match(name, value, re) {
  if (typeof value !== 'string' || !re.test(value)) {
    throw new Error(`renderNginxConfig: invalid ${name} ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * @param {string} name
 * @param {unknown} value
 * @param {number} min
 * @param {number} [max]
 */
function integer(name, value, min, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new Error(`renderNginxConfig: invalid ${name} ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * @param {string} name
 * @param {string} value
 */
function safePath(name, value) {
  // Quotes, `$` (variable interpolation), `;`, braces and control characters could escape the string.
  return match(name, value, /^[^"'$;{}\\\s\x00-\x1f]+$/); // eslint-disable-line no-control-regex
}

/** @param {string} s nginx-quoted string (callers guarantee no quote or backslash inside) */
function q(s) {
  return `"${s}"`;
}

/**
 * The `host:port` list of a service, empty when it is not deployed.
 * @param {GatewayService} service
 * @param {NormalizedOptions} o
 */
function deployedServers(service, o) {
  return o.upstreams[service.upstream] ?? [];
}

/** @param {number} n */
function indent(n) {
  const pad = ' '.repeat(n);
  /** @param {string} line */
  return (line) => (line === '' ? '' : pad + line);
}

/**
 * Seconds until the limiter admits the next request: one token interval, at least 1 s.
 * @param {string} rate e.g. `10r/s`, `30r/m`
 */
function retryAfterForRate(rate) {
  const m = /^(\d+)r\/([sm])$/.exec(rate);
  const perUnit = Number(m?.[1] ?? 1);
  const unitSeconds = m?.[2] === 'm' ? 60 : 1;
  return Math.max(1, Math.ceil(unitSeconds / Math.max(perUnit, 1)));
}

module.exports = { renderNginxConfig, clientBucketMap, gatewayServices, credentialEndpointNames };
