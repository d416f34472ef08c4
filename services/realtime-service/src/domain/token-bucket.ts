/** Options of {@link createTokenBucket}. */
export interface TokenBucketOptions {
  /** Tokens added per second. */
  ratePerSecond: number;
  /** Bucket size: the burst a client may send at once. */
  burst: number;
  /** Monotonic milliseconds. */
  now: () => number;
}

/** A per-socket event budget. */
export interface TokenBucket {
  /** Takes one token; false when the bucket is empty. */
  take(): boolean;
}

/** The classic token bucket: `burst` at once, `ratePerSecond` sustained; in memory, one per socket. */
export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  let tokens = options.burst;
  let last = options.now();
  return {
    take() {
      const now = options.now();
      tokens = Math.min(options.burst, tokens + ((now - last) / 1000) * options.ratePerSecond);
      last = now;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
