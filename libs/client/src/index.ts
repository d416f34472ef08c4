/** @concord/client: typed Concord client (HTTP and the realtime Socket.IO contract). */
export * from './http-transport';
export * from './concord-client';
export * from './realtime-events';
export * from './realtime-client';
