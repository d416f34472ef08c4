// @ts-check
'use strict';
// The gateway's public module: render the nginx configuration and run nginx. Plain CommonJS with JSDoc
// types because the local stack runner uses it without a build step and the Jest suites require it
// through ts-jest.

const {
  renderNginxConfig,
  clientBucketMap,
  gatewayServices,
  credentialEndpointNames,
} = require('./nginx-config');
const { startNginx, findNginx } = require('./nginx-process');
const { GATEWAY_PROBLEMS, NOT_DEPLOYED_PROBLEM } = require('./gateway-problems');
const { ensureTlsMaterial } = require('./tls');

/**
 * @typedef {import('./nginx-config').NginxConfigOptions} NginxConfigOptions
 * @typedef {import('./nginx-config').GatewayService} GatewayService
 * @typedef {import('./nginx-config').ListenAddress} ListenAddress
 * @typedef {import('./nginx-config').CredentialEndpoint} CredentialEndpoint
 * @typedef {import('./nginx-config').RateLimit} RateLimit
 * @typedef {import('./nginx-process').StartNginxOptions} StartNginxOptions
 * @typedef {import('./nginx-process').NginxHandle} NginxHandle
 * @typedef {import('./gateway-problems').GatewayProblem} GatewayProblem
 * @typedef {import('./tls').TlsMaterial} TlsMaterial
 */

module.exports = {
  renderNginxConfig,
  clientBucketMap,
  gatewayServices,
  credentialEndpointNames,
  startNginx,
  findNginx,
  ensureTlsMaterial,
  GATEWAY_PROBLEMS,
  NOT_DEPLOYED_PROBLEM,
};
