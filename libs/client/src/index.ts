/** @concord/client: typed Concord client (HTTP now; Socket.IO joins with the realtime service). */
export * from './http-transport';
export * from './concord-client';
