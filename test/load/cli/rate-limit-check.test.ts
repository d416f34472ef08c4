import { rateLimitWarning } from './rate-limit-check';

describe('rateLimitWarning', () => {
  it('when the offered rate exceeds the per-user limit times the users, warns', () => {
    // Concord's default: 100 per minute per user; 20 users let 33.3/s through.
    expect(rateLimitWarning(100 / 60, 20, 200)).toMatch(/33\.3\/s for 20 users, against 200\/s/);
  });

  it('when the limit lets the offered rate through, says nothing', () => {
    expect(rateLimitWarning(10_000, 20, 200)).toBeUndefined();
  });

  it('without a rate (back to back), says nothing: the report shows any 429s', () => {
    expect(rateLimitWarning(1, 1, undefined)).toBeUndefined();
  });
});
