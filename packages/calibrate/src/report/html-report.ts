// The calibration as one self-contained HTML page: no request leaves it.
// Chart.js (MIT, from npm) is embedded in the page and draws four charts
// from the calibration, which is embedded as JSON: speed against quality per
// quant, memory per context size, threads against speed, and measured
// against predicted speed; the recommendation and the rejected options are
// plain HTML.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Calibration } from '../calibrate.js';
import { writeOutputFile } from '../io/write-output.js';

const require = createRequire(import.meta.url);

/** Chart.js's UMD build, which defines `window.Chart` (the package's exports map hides it, so it is found beside the main file). */
export function loadChartJs(): string {
  return readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

export interface ReportOptions {
  /** When the report was made (ISO 8601); shown in the header. */
  generated: string;
  /** Chart.js's UMD source; loadChartJs() by default. */
  chartJs?: string;
}

/** Text for HTML content or a quoted attribute: the five special characters as character references. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON inside <script>: `<` escaped so that no string in it can close the element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The data the charts draw, one series per quant. */
export interface ReportSeries {
  speedQuality: Array<{ quant: string; kld: number; generation: number; prompt: number }>;
  memory: Array<{ quant: string; points: Array<{ context: number; mib: number }> }>;
  threads: Array<{ quant: string; points: Array<{ threads: number; generation: number; prompt: number }> }>;
  predicted: Array<{ quant: string; measured: number; predicted: number }>;
}

/** The series of each chart, from a calibration. Pure. */
export function reportSeries(calibration: Calibration): ReportSeries {
  const best = (
    kind: 'prompt' | 'generation',
    samples: Calibration['models'][number]['speed']['samples'],
    threads?: number,
  ) =>
    Math.max(
      0,
      ...samples
        .filter((s) => s.kind === kind && (threads === undefined || s.threads === threads))
        .map((s) => s.tokensPerSecond),
    );
  return {
    speedQuality: calibration.models.map((m) => ({
      quant: m.quant,
      kld: m.quality && !m.quality.reference ? m.quality.summary.kld.value : 0,
      generation: best('generation', m.speed.samples),
      prompt: best('prompt', m.speed.samples),
    })),
    memory: calibration.models.map((m) => ({
      quant: m.quant,
      points: m.memoryByContext.map((c) => ({ context: c.context, mib: c.bytes / 1024 / 1024 })),
    })),
    threads: calibration.models.map((m) => ({
      quant: m.quant,
      points: [...new Set(m.speed.samples.map((s) => s.threads))]
        .sort((a, b) => a - b)
        .map((threads) => ({
          threads,
          generation: best('generation', m.speed.samples, threads),
          prompt: best('prompt', m.speed.samples, threads),
        })),
    })),
    predicted: calibration.models.map((m) => ({
      quant: m.quant,
      measured: best('generation', m.speed.samples),
      predicted: m.prediction.generationTokensPerSecond,
    })),
  };
}

// Runs in the page: one chart per canvas, one dataset per quant, and a
// summary of what was drawn on window.alkiCharts for tests and scripts.
const PAGE_SCRIPT = `
(function () {
  var series = JSON.parse(document.getElementById('alki-series').textContent);
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  function axis(title, type) { return { type: type || 'linear', title: { display: true, text: title } }; }
  var charts = [];
  function draw(id, config) {
    var chart = new Chart(document.getElementById(id), config);
    charts.push({ id: id, type: config.type, series: config.data.datasets.map(function (d) { return { label: d.label, points: d.data.length }; }) });
    return chart;
  }
  draw('chart-speed-quality', {
    type: 'scatter',
    data: { datasets: series.speedQuality.map(function (q, i) {
      return { label: q.quant, data: [{ x: q.kld, y: q.generation }], backgroundColor: palette[i % palette.length], pointRadius: 7 };
    }) },
    options: { scales: { x: axis('mean KL divergence from the reference (nats)'), y: axis('generation tokens/s') } }
  });
  draw('chart-memory', {
    type: 'line',
    data: { datasets: series.memory.map(function (q, i) {
      return { label: q.quant, data: q.points.map(function (p) { return { x: p.context, y: p.mib }; }), borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length] };
    }) },
    options: { scales: { x: axis('context size (tokens)', 'logarithmic'), y: axis('memory (MiB)') } }
  });
  draw('chart-threads', {
    type: 'line',
    data: { datasets: series.threads.map(function (q, i) {
      return { label: q.quant, data: q.points.map(function (p) { return { x: p.threads, y: p.generation }; }), borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length] };
    }) },
    options: { scales: { x: Object.assign(axis('threads'), { ticks: { stepSize: 1 } }), y: axis('generation tokens/s') } }
  });
  draw('chart-predicted', {
    type: 'bar',
    data: {
      labels: series.predicted.map(function (q) { return q.quant; }),
      datasets: [
        { label: 'measured', data: series.predicted.map(function (q) { return q.measured; }), backgroundColor: '#1f77b4' },
        { label: 'predicted', data: series.predicted.map(function (q) { return q.predicted; }), backgroundColor: '#ff7f0e' }
      ]
    },
    options: { scales: { y: axis('generation tokens/s') } }
  });
  window.alkiCharts = charts;
})();
`;

function table(header: string[], rows: string[][]): string {
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/**
 * The calibration report: one HTML file with everything inlined (styles,
 * Chart.js, the data), so it opens offline and can be mailed or archived.
 *
 * @example
 * await writeFile('report.html', renderReport(calibration, { generated: new Date().toISOString() }));
 */
export function renderReport(calibration: Calibration, options: ReportOptions): string {
  const { probe, result, emulation } = calibration;
  const choice = result.recommendation;
  const models = table(
    [
      'quant',
      'size',
      'bits/weight',
      'generation tok/s',
      'prompt tok/s',
      'best threads',
      'load ms',
      'peak RSS',
      'KL divergence',
      'top-1',
      'perplexity',
    ],
    calibration.models.map((m) => {
      const generation = m.speed.samples
        .filter((s) => s.kind === 'generation')
        .sort((a, b) => b.tokensPerSecond - a.tokensPerSecond)[0];
      const prompt = m.speed.samples
        .filter((s) => s.kind === 'prompt')
        .sort((a, b) => b.tokensPerSecond - a.tokensPerSecond)[0];
      const compared = m.quality && !m.quality.reference ? m.quality.summary : undefined;
      return [
        m.quant + (m.isBase ? ' (reference)' : ''),
        mib(m.sizeBytes),
        m.bitsPerWeight.toFixed(2),
        generation?.tokensPerSecond.toFixed(1) ?? '-',
        prompt?.tokensPerSecond.toFixed(1) ?? '-',
        String(generation?.threads ?? '-'),
        m.speed.loadMs?.toFixed(0) ?? '-',
        m.speed.peakRssBytes !== undefined ? mib(m.speed.peakRssBytes) : '-',
        compared
          ? `${compared.kld.value.toFixed(4)} ± ${compared.kld.uncertainty.toFixed(4)}`
          : m.quality
            ? 'reference'
            : '-',
        compared ? `${(compared.top1Agreement.value * 100).toFixed(1)}%` : '-',
        m.quality ? m.quality.summary.perplexity.value.toFixed(2) : '-',
      ];
    }),
  );
  const recommendation = choice
    ? `<p class="choice">${escapeHtml(`${choice.quant}, context ${choice.context}, ${choice.threads} thread${choice.threads === 1 ? '' : 's'}, batch ${choice.batch}`)}</p><ul>${choice.reasons
        .map((r) => `<li>${escapeHtml(r)}</li>`)
        .join('')}</ul>`
    : '<p class="choice">Nothing meets every constraint.</p>';
  const rejected = result.rejected.length
    ? table(
        ['option', 'constraint', 'why'],
        result.rejected.map((r) => [r.option, r.constraint, r.reason]),
      )
    : '<p>No option was rejected.</p>';
  const constraints = Object.entries(calibration.constraints)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const device = emulation
    ? `${emulation.device.name}, emulated on ${emulation.host.hostname} in a ${emulation.method} cgroup (${emulation.limits.cpuCores} cores of CPU time, ${mib(emulation.limits.memoryBytes)})`
    : `${probe.hostname}: ${probe.cpu.model}, ${probe.usable.cores} cores, ${mib(probe.usable.memoryBytes)} usable${probe.bandwidth ? `, ${probe.bandwidth.copyGBps.toFixed(1)} GB/s copy bandwidth` : ''}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`Calibration of ${calibration.model.name}`)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 0.25em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5em; }
.chart { height: 320px; } .choice { font-size: 1.2em; font-weight: 600; } .meta { color: #666; }
</style>
</head>
<body>
<h1>${escapeHtml(`Calibration of ${calibration.model.name}`)}</h1>
<p class="meta">${escapeHtml(device)}<br>${escapeHtml(
    `Speed by ${calibration.engines.speed}, quality by ${calibration.engines.quality} on ${calibration.text.source === 'built-in' ? 'the built-in text' : calibration.text.file}. Generated ${options.generated}.`,
  )}</p>
<h2>Recommendation</h2>
${recommendation}
<p class="meta">${escapeHtml(constraints ? `Constraints: ${constraints}.` : 'No constraints given.')}</p>
<h2>Rejected options</h2>
${rejected}
<h2>Quants</h2>
${models}
<div class="charts">
<figure><figcaption>Speed against quality</figcaption><div class="chart"><canvas id="chart-speed-quality"></canvas></div></figure>
<figure><figcaption>Memory per context size</figcaption><div class="chart"><canvas id="chart-memory"></canvas></div></figure>
<figure><figcaption>Threads against generation speed</figcaption><div class="chart"><canvas id="chart-threads"></canvas></div></figure>
<figure><figcaption>${escapeHtml(emulation ? `Measured under limits against predicted on ${emulation.device.id}` : 'Measured against predicted (bandwidth model)')}</figcaption><div class="chart"><canvas id="chart-predicted"></canvas></div></figure>
</div>
<script id="alki-series" type="application/json">${scriptJson(reportSeries(calibration))}</script>
<script>${(options.chartJs ?? loadChartJs()).replace(/<\/script/gi, '<\\/script')}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

/**
 * Writes the report atomically; an existing file is replaced only with `force`.
 *
 * @example
 * await writeReport('report.html', calibration);
 */
export async function writeReport(file: string, calibration: Calibration, force = false): Promise<void> {
  await writeOutputFile(
    file,
    renderReport(calibration, { generated: new Date().toISOString() }),
    force,
    '--report',
  );
}
