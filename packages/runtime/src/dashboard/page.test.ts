import { describe, expect, it } from '@jest/globals';
import { DASHBOARD_CHARTS, renderDashboardPage } from './page.js';

const FAKE_CHART_JS = 'window.Chart = function () {}; // "</script>" in a string';

describe('renderDashboardPage', () => {
  const html = renderDashboardPage({
    title: 'tiny <b>"model"</b>',
    dataUrl: '/dashboard/data.json',
    pollMs: 5000,
    chartJs: FAKE_CHART_JS,
  });

  it('is readable on a small screen: a viewport meta and a one-column layout below 30rem', () => {
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('@media (max-width: 30rem)');
  });

  it('escapes the model name', () => {
    expect(html).toContain('<title>tiny &#60;b&#62;&#34;model&#34;&#60;/b&#62; · Alki</title>');
    expect(html).not.toContain('<b>');
  });

  it('has a canvas for each chart, and its configuration as JSON the page reads', () => {
    for (const chart of DASHBOARD_CHARTS) expect(html).toContain(`<canvas data-chart="${chart.id}"`);
    const config = /<script id="alki-dashboard-config" type="application\/json">(.*?)<\/script>/.exec(html);
    expect(JSON.parse(config![1])).toEqual({
      dataUrl: '/dashboard/data.json',
      pollMs: 5000,
      charts: DASHBOARD_CHARTS,
    });
  });

  it('inlines the chart library so that no string in it closes its script element', () => {
    expect(html).toContain('window.Chart = function () {}; // "<\\/script>" in a string');
    expect(html).not.toMatch(/<script[^>]*\ssrc=/);
  });

  it('embeds Chart.js from npm by default', () => {
    const page = renderDashboardPage({ title: 'm', dataUrl: '/d.json', pollMs: 1000 });
    expect(page).toMatch(/Chart\.js v4\./);
  });
});
