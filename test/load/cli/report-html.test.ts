import { renderLoadReport } from './report-html';
import { sampleResult } from './test-support/sample-result';

describe('renderLoadReport', () => {
  const html = renderLoadReport(sampleResult());

  it('draws the four charts: throughput and latency over time, histogram, error breakdown', () => {
    for (const chart of ['throughput', 'latency-over-time', 'histogram', 'errors']) {
      expect(html).toMatch(new RegExp(`<figure data-chart="${chart}"><svg[^>]*>.*<(path|rect) `, 's'));
    }
  });

  it('is self-contained: no script, stylesheet link, image or other URL to fetch', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|url\(|@import|src=/i);
  });

  it('shows each SLO verdict and the error kinds', () => {
    expect(html).toContain('p99&#60;50ms');
    expect(html).toMatch(/class="missed">missed/); // errors<0.1% with ~1% errors
    expect(html).toContain('me: http 503 SERVICE_UNAVAILABLE');
  });

  it('escapes what comes from the run (error kinds, notes) as text', () => {
    const result = sampleResult();
    result.errorsByKind = { '<img src=x onerror=alert(1)>': 1 };
    expect(renderLoadReport(result)).not.toContain('<img src=x');
  });

  it('without errors, says so instead of drawing an empty chart', () => {
    expect(renderLoadReport(sampleResult({ errors: false }))).toContain('No errors.');
  });
});
