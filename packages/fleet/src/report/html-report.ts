import { escapeHtml, loadChartJs, scriptJson } from '@alki/calibrate';

/** A table of the report. */
export interface HtmlTable {
  caption: string;
  headers: string[];
  rows: string[][];
}

/** A chart, as a Chart.js configuration (chartjs.org/docs/latest/configuration). */
export interface HtmlChart {
  title: string;
  config: Record<string, unknown>;
}

export interface HtmlReport {
  title: string;
  subtitle: string;
  /** Short paragraphs at the top: the verdict. */
  summary: string[];
  tables: HtmlTable[];
  charts: HtmlChart[];
  /** Small print at the end: how the figures were made. */
  notes: string[];
}

// The page machinery (Chart.js inlined from npm, escaping) is calibrate's, which renders its report the same way.
let chartJs: string | undefined;
const chartLibrary = () => (chartJs ??= loadChartJs());

/**
 * A self-contained HTML page: text, tables, and charts drawn by Chart.js,
 * whose code is inlined. Nothing is fetched when it opens; every value is
 * escaped. Each chart's canvas carries `data-chart` so tests can find it.
 *
 * @example
 * const html = renderHtmlReport({ title: 'A/B', subtitle: '', summary: ['No difference.'], tables: [], charts: [], notes: [] });
 */
export function renderHtmlReport(report: HtmlReport): string {
  const tables = report.tables
    .map(
      (table) => `<table>
<caption>${escapeHtml(table.caption)}</caption>
<thead><tr>${table.headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${table.rows.map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table>`,
    )
    .join('\n');
  const charts = report.charts
    .map(
      (chart, i) =>
        `<figure><figcaption>${escapeHtml(chart.title)}</figcaption><div class="chart"><canvas id="chart-${i}" data-chart="${i}"></canvas></div></figure>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(report.title)}</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 64rem; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.6rem; margin-bottom: 0; }
.subtitle { color: #5b6473; margin-top: 0.2rem; }
.summary p { font-size: 1.1rem; background: #f3f5f9; border-left: 4px solid #3b6fd8; padding: 0.6rem 1rem; }
table { border-collapse: collapse; margin: 1.5rem 0; width: 100%; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.4rem; }
th, td { border-bottom: 1px solid #dde2ea; padding: 0.35rem 0.6rem; text-align: left; vertical-align: top; }
figure { margin: 2rem 0; }
figcaption { font-weight: 600; margin-bottom: 0.5rem; }
.chart { position: relative; height: 18rem; }
.notes { color: #5b6473; font-size: 0.9rem; }
</style>
</head>
<body>
<h1>${escapeHtml(report.title)}</h1>
<p class="subtitle">${escapeHtml(report.subtitle)}</p>
<section class="summary">
${report.summary.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
</section>
${tables}
${charts}
<section class="notes">
${report.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('\n')}
</section>
<script>${chartLibrary().replace(/<\/script/gi, '<\\/script')}</script>
<script>
const configs = ${scriptJson(report.charts.map((c) => c.config))};
configs.forEach((config, i) => {
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
  new Chart(document.getElementById('chart-' + i), config);
});
document.body.dataset.chartsRendered = String(configs.length);
</script>
</body>
</html>
`;
}
