// The dashboard page: one self-contained HTML document. Chart.js (MIT, from
// npm) is inlined the way @alki/calibrate's report inlines it, so the page
// fetches nothing but its own data URL, which it polls; the numbers and the
// agent's state are written into the DOM with textContent, never as HTML.
import { escapeHtml, loadChartJs, scriptJson } from '@alki/calibrate';

export interface DashboardPageOptions {
  /** The page title: the model served. */
  title: string;
  /** Where the page polls its data (same origin). */
  dataUrl: string;
  /** How often it polls, in milliseconds. */
  pollMs: number;
  /** Chart.js's UMD source; loadChartJs() by default. */
  chartJs?: string;
}

/** The charts, each drawn from one field of the samples; `data-chart` names them for tests. */
export const DASHBOARD_CHARTS = [
  { id: 'requests', title: 'Requests per minute', field: 'requestsPerMinute', scale: 1 },
  { id: 'tokens', title: 'Tokens per second', field: 'tokensPerSecond', scale: 1 },
  { id: 'first-token', title: 'Time to first token (ms)', field: 'firstTokenSeconds', scale: 1000 },
  { id: 'memory', title: 'Memory, resident (MiB)', field: 'rssBytes', scale: 1 / 1048576 },
] as const;

// Runs in the browser. Plain ES2017, no template literals, so it reads the
// same here as it does in the page.
const PAGE_SCRIPT = `
(function () {
  var config = JSON.parse(document.getElementById('alki-dashboard-config').textContent);
  var charts = {};
  function text(id, value) { document.getElementById(id).textContent = value; }
  function round(value, digits) { return value === null ? null : Number(value.toFixed(digits)); }
  function duration(seconds) {
    var s = Math.floor(seconds), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d > 0) return d + ' d ' + h + ' h';
    if (h > 0) return h + ' h ' + m + ' min';
    return m > 0 ? m + ' min ' + (s % 60) + ' s' : (s % 60) + ' s';
  }
  function clock(ms) { return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }); }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : ''; }
  config.charts.forEach(function (chart) {
    var canvas = document.querySelector('canvas[data-chart="' + chart.id + '"]');
    charts[chart.id] = new Chart(canvas, {
      type: 'line',
      data: { labels: [], datasets: [{ label: chart.title, data: [], borderColor: '#3b6fd8', backgroundColor: 'rgba(59,111,216,0.15)', fill: true, pointRadius: 0, spanGaps: true, tension: 0.2 }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { beginAtZero: true } } }
    });
  });
  function showAgent(agent) {
    var section = document.getElementById('agent');
    section.hidden = !agent;
    if (!agent) return;
    var state = agent.status === 'ok' ? '' : agent.status === 'missing' ? 'no state file yet' : 'state file unreadable';
    text('agent-status', state);
    text('agent-channel', agent.channel || '');
    text('agent-current', agent.current ? agent.current.digest + (agent.current.version ? ' (' + agent.current.name + ' ' + agent.current.version + ')' : '') : 'none');
    text('agent-check', agent.lastCheck ? agent.lastCheck.outcome + ', ' + when(agent.lastCheck.at) : 'not yet');
    text('agent-error', agent.lastError ? agent.lastError.code + ': ' + agent.lastError.message + ' (' + when(agent.lastError.at) + ')' : 'none');
    text('agent-update', agent.update ? agent.update.phase + ' of ' + agent.update.digest + ', since ' + when(agent.update.started) : 'none');
  }
  function show(data) {
    text('model', data.model);
    text('engine', data.engine);
    text('digest', data.bundleDigest || 'not a bundle');
    text('uptime', duration(data.uptimeSeconds));
    text('requests', String(data.totals.requests));
    text('errors', String(data.totals.errors));
    text('tokens', String(data.totals.completionTokens));
    var last = data.samples[data.samples.length - 1];
    text('rss', last ? (last.rssBytes / 1048576).toFixed(0) + ' MiB' : '');
    var labels = data.samples.map(function (s) { return clock(s.at); });
    config.charts.forEach(function (chart) {
      var c = charts[chart.id];
      c.data.labels = labels;
      c.data.datasets[0].data = data.samples.map(function (s) { return s[chart.field] === null ? null : round(s[chart.field] * chart.scale, 2); });
      c.update();
    });
    showAgent(data.agent);
    text('state', 'Updated ' + clock(Date.now()));
    document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  }
  function poll() {
    fetch(config.dataUrl, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(show, function (error) { text('state', 'No data: ' + error.message); })
      .then(function () { setTimeout(poll, config.pollMs); });
  }
  poll();
})();
`;

/**
 * The dashboard's HTML: a header of figures, four charts of the last hour,
 * and the update agent's state when one runs. Pure; nothing in it is fetched
 * from elsewhere.
 *
 * @example
 * const html = renderDashboardPage({ title: 'tiny', dataUrl: '/dashboard/data.json', pollMs: 5000 });
 */
export function renderDashboardPage(options: DashboardPageOptions): string {
  const config = { dataUrl: options.dataUrl, pollMs: options.pollMs, charts: DASHBOARD_CHARTS };
  const figure = (id: string, label: string) =>
    `<div class="figure"><span class="label">${label}</span><span class="value" id="${id}"></span></div>`;
  const row = (id: string, label: string) => `<dt>${label}</dt><dd id="${id}"></dd>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(options.title)} · Alki</title>
<style>
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 1rem; color: #1d2330; }
h1 { font-size: 1.4rem; margin: 0; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
.meta { color: #5b6473; margin: 0.2rem 0 1rem; overflow-wrap: anywhere; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: 0.5rem; }
.figure { background: #f3f5f9; border-radius: 6px; padding: 0.5rem 0.75rem; }
.label { display: block; color: #5b6473; font-size: 0.8rem; }
.value { font-size: 1.3rem; font-weight: 600; overflow-wrap: anywhere; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); gap: 1rem; margin-top: 1rem; }
figure { margin: 0; min-width: 0; }
figcaption { font-weight: 600; margin-bottom: 0.3rem; }
.chart { position: relative; height: 13rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
dt { color: #5b6473; }
dd { margin: 0; overflow-wrap: anywhere; font-family: ui-monospace, monospace; font-size: 0.9rem; }
#state { color: #5b6473; font-size: 0.85rem; margin-top: 1.5rem; }
@media (max-width: 30rem) {
  body { padding: 0.6rem; font-size: 14px; }
  dl { grid-template-columns: 1fr; }
  dd { margin-bottom: 0.4rem; }
  .chart { height: 11rem; }
}
</style>
</head>
<body>
<header>
<h1 id="model">${escapeHtml(options.title)}</h1>
<p class="meta"><span id="engine"></span> · bundle <span id="digest"></span></p>
</header>
<section class="figures">
${figure('uptime', 'Uptime')}
${figure('requests', 'Requests')}
${figure('errors', 'Errors')}
${figure('tokens', 'Tokens generated')}
${figure('rss', 'Memory (RSS)')}
</section>
<section class="charts">
${DASHBOARD_CHARTS.map(
  (chart) =>
    `<figure><figcaption>${escapeHtml(chart.title)}</figcaption><div class="chart"><canvas data-chart="${chart.id}" role="img" aria-label="${escapeHtml(chart.title)} over the last hour"></canvas></div></figure>`,
).join('\n')}
</section>
<section id="agent" hidden>
<h2>Update agent <span id="agent-status"></span></h2>
<dl>
${row('agent-channel', 'Channel')}
${row('agent-current', 'Current bundle')}
${row('agent-check', 'Last check')}
${row('agent-error', 'Last error')}
${row('agent-update', 'Update in progress')}
</dl>
</section>
<p id="state">Loading…</p>
<script id="alki-dashboard-config" type="application/json">${scriptJson(config)}</script>
<script>${(options.chartJs ?? loadChartJs()).replace(/<\/script/gi, '<\\/script')}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
