// @ts-check
'use strict';
// The gateway's public module: render the nginx configuration and run nginx. Plain CommonJS with JSDoc
// types because the local stack runner uses it without a build step and the Jest suites require it
// through ts-jest.

const { renderNginxConfig, clientBucketMap, CREDENTIAL_ENDPOINTS, ROUTES } = require('./nginx-config');
const { startNginx, findNginx } = require('./nginx-process');
const { GATEWAY_PROBLEMS } = require('./gateway-problems');

/**
 * @typedef {import('./nginx-config').NginxConfigOptions} NginxConfigOptions
 * @typedef {import('./nginx-config').ListenAddress} ListenAddress
 * @typedef {import('./nginx-config').CredentialEndpoint} CredentialEndpoint
 * @typedef {import('./nginx-config').RateLimit} RateLimit
 * @typedef {import('./nginx-process').StartNginxOptions} StartNginxOptions
 * @typedef {import('./nginx-process').NginxHandle} NginxHandle
 * @typedef {import('./gateway-problems').GatewayProblem} GatewayProblem
 */

module.exports = {
  renderNginxConfig,
  clientBucketMap,
  startNginx,
  findNginx,
  CREDENTIAL_ENDPOINTS,
  GATEWAY_PROBLEMS,
  ROUTES,
};
