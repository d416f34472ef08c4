// @ts-check
'use strict';
// The problem+json answers nginx produces itself (DESIGN.md section 3). Kept apart from the renderer so
// the catalogue can be compared with libs/common's ERROR_CATALOGUE in one glance (and in a test).

/**
 * @typedef {object} GatewayProblem
 * @property {string} location named location serving the body
 * @property {number[]} from nginx statuses redirected to it
 * @property {number} status HTTP status answered
 * @property {string} error catalogue name
 * @property {number} code catalogue code
 * @property {string} title catalogue title
 * @property {string} detail
 * @property {boolean} [retryAfter] whether the answer carries `Retry-After`
 */

/** Retry-After for the gateway's 502/503/504: long enough for a replica restart to be noticed. */
const UNAVAILABLE_RETRY_AFTER_S = 5;

/**
 * The problems nginx answers itself. Codes, names and titles mirror libs/common's ERROR_CATALOGUE
 * (test/gateway.test.ts fails on drift); the gateway keeps 502 and 504 as statuses because RFC 9457
 * wants `status` to equal the HTTP status and those tell an operator more than a blanket 503.
 * @type {readonly GatewayProblem[]}
 */
const GATEWAY_PROBLEMS = Object.freeze([
  {
    location: '@problem_400',
    from: [400],
    status: 400,
    error: 'REQUEST_VALIDATION_ERROR',
    code: 2001,
    title: 'Malformed request',
    detail: 'The request is malformed.',
  },
  {
    location: '@problem_414',
    from: [414],
    status: 400,
    error: 'REQUEST_VALIDATION_ERROR',
    code: 2001,
    title: 'Malformed request',
    detail: 'The request line is too long.',
  },
  {
    location: '@problem_413',
    from: [413],
    status: 413,
    error: 'PAYLOAD_TOO_LARGE',
    code: 2002,
    title: 'Payload too large',
    detail: 'The request body exceeds the gateway limit.',
  },
  {
    location: '@problem_405',
    from: [405],
    status: 405,
    error: 'METHOD_NOT_ALLOWED',
    code: 2003,
    title: 'Method not allowed',
    detail: 'The gateway does not accept this method.',
  },
  {
    // 494 is nginx's internal "Request Header Or Cookie Too Large"; clients get the standard 431.
    location: '@problem_431',
    from: [494],
    status: 431,
    error: 'HEADERS_TOO_LARGE',
    code: 2005,
    title: 'Request headers too large',
    detail: 'The request headers exceed the gateway limit.',
  },
  {
    location: '@problem_404',
    from: [404],
    status: 404,
    error: 'RESOURCE_NOT_FOUND',
    code: 3000,
    title: 'Resource not found',
    detail: 'No route matches this path.',
  },
  {
    location: '@problem_429',
    from: [429],
    status: 429,
    error: 'RATE_LIMITED',
    code: 5000,
    title: 'Too many requests',
    detail: 'Too many requests from this address.',
    retryAfter: true,
  },
  {
    location: '@problem_500',
    from: [500],
    status: 500,
    error: 'INTERNAL_ERROR',
    code: 8000,
    title: 'Internal error',
    detail: 'The gateway failed to handle the request.',
  },
  {
    location: '@problem_502',
    from: [502],
    status: 502,
    error: 'SERVICE_UNAVAILABLE',
    code: 8001,
    title: 'Service unavailable',
    detail: 'No replica of the upstream service could be reached.',
    retryAfter: true,
  },
  {
    location: '@problem_503',
    from: [503],
    status: 503,
    error: 'SERVICE_UNAVAILABLE',
    code: 8001,
    title: 'Service unavailable',
    detail: 'The upstream service is unavailable.',
    retryAfter: true,
  },
  {
    location: '@problem_504',
    from: [504],
    status: 504,
    error: 'SERVICE_UNAVAILABLE',
    code: 8001,
    title: 'Service unavailable',
    detail: 'The upstream service did not answer in time.',
    retryAfter: true,
  },
]);

/** Served by routes whose service has no replicas in this deployment (e.g. not written yet). */
const NOT_DEPLOYED_PROBLEM = Object.freeze({
  location: '@problem_not_deployed',
  from: [503],
  status: 503,
  error: 'SERVICE_UNAVAILABLE',
  code: 8001,
  title: 'Service unavailable',
  detail: 'This service is not deployed behind the gateway.',
  retryAfter: true,
});

module.exports = { GATEWAY_PROBLEMS, NOT_DEPLOYED_PROBLEM, UNAVAILABLE_RETRY_AFTER_S };
