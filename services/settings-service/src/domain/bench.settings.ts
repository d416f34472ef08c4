// Shared: realtime-service re-announces `bench` changes it re-reads after a reconnect.
export { BENCH_KEY, benchSettings } from '@concord/common';
