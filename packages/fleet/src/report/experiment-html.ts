import type { Cohort } from './collect.js';
import { formatP, type ExperimentReport, type LatencySummary } from './compare.js';
import { renderHtmlReport, type HtmlChart } from './html-report.js';

const COLORS: Record<Cohort, string> = { a: '#3b6fd8', b: '#e0803a' };

function ms(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value * 1000)} ms` : 'n/a';
}

function latencyCells(summary: LatencySummary): string {
  return `${ms(summary.p50)} / ${ms(summary.p90)} / ${ms(summary.p99)}`;
}

function distributionChart(title: string, series: ExperimentReport['series']['latency']): HtmlChart {
  const share = (counts: number[]) => {
    const total = counts.reduce((s, c) => s + c, 0);
    return counts.map((c) => (total ? (100 * c) / total : 0));
  };
  return {
    title,
    config: {
      type: 'bar',
      data: {
        labels: series.labels,
        datasets: (['a', 'b'] as const).map((cohort) => ({
          label: `cohort ${cohort.toUpperCase()}`,
          data: share(series[cohort]),
          backgroundColor: COLORS[cohort],
        })),
      },
      options: { scales: { y: { title: { display: true, text: '% of requests' } } } },
    },
  };
}

/**
 * The A/B report as a self-contained HTML page: the verdict, the cohorts
 * side by side, each test with why it was chosen, and charts of the latency
 * and first-token distributions, tokens/s over time and the error rates.
 */
export function renderExperimentHtml(report: ExperimentReport): string {
  const { a, b } = report.cohorts;
  const rate = (r: number | null) => (r === null ? 'n/a' : `${(r * 100).toFixed(2)}%`);
  const tps = (c: typeof a) =>
    c.tokensPerSecond.mean === null
      ? 'n/a'
      : `${c.tokensPerSecond.mean.toFixed(1)} (${c.tokensPerSecond.samples} intervals)`;
  const times = [
    ...new Set(
      [...report.series.tokensPerSecondOverTime.a, ...report.series.tokensPerSecondOverTime.b].map(
        ([t]) => t,
      ),
    ),
  ].sort();
  return renderHtmlReport({
    title: `Experiment ${report.experiment}: B against A`,
    subtitle: `${report.window.start} to ${report.window.end}, intervals of ${report.window.stepSeconds} s, α = ${report.alpha}`,
    summary: [report.verdict],
    tables: [
      {
        caption: 'Cohorts',
        headers: ['', 'A', 'B'],
        rows: [
          ['devices', String(a.devices.length), String(b.devices.length)],
          ['requests', String(a.requests), String(b.requests)],
          ['errors', `${a.errors} (${rate(a.errorRate)})`, `${b.errors} (${rate(b.errorRate)})`],
          ['latency p50 / p90 / p99', latencyCells(a.latency), latencyCells(b.latency)],
          ['time to first token p50 / p90 / p99', latencyCells(a.firstToken), latencyCells(b.firstToken)],
          ['generation tokens/s', tps(a), tps(b)],
        ],
      },
      {
        caption: 'Tests',
        headers: ['metric', 'test', 'why this test', 'p (Holm)', 'result'],
        rows: report.comparisons.map((c) => [
          c.metric,
          c.test,
          c.why,
          c.pAdjusted === null ? 'n/a' : formatP(c.pAdjusted),
          c.sentence,
        ]),
      },
    ],
    charts: [
      distributionChart('Latency: share of requests per bucket', report.series.latency),
      distributionChart('Time to first token: share of requests per bucket', report.series.firstToken),
      {
        title: 'Generation tokens/s per interval (mean over the cohort’s devices)',
        config: {
          type: 'line',
          data: {
            labels: times.map((t) => t.slice(11, 19)),
            datasets: (['a', 'b'] as const).map((cohort) => {
              const byTime = new Map(report.series.tokensPerSecondOverTime[cohort]);
              return {
                label: `cohort ${cohort.toUpperCase()}`,
                data: times.map((t) => byTime.get(t) ?? null),
                borderColor: COLORS[cohort],
                backgroundColor: COLORS[cohort],
                spanGaps: true,
              };
            }),
          },
          options: { scales: { y: { title: { display: true, text: 'tokens/s' }, beginAtZero: true } } },
        },
      },
      {
        title: 'Error rate',
        config: {
          type: 'bar',
          data: {
            labels: ['cohort A', 'cohort B'],
            datasets: [
              {
                label: '% of requests that failed',
                data: [a.errorRate ?? 0, b.errorRate ?? 0].map((r) => r * 100),
                backgroundColor: [COLORS.a, COLORS.b],
              },
            ],
          },
        },
      },
    ],
    notes: [
      "Counts and histograms are Prometheus increase() over the window; tokens/s is llama-server's generated tokens over its generation seconds, per device and interval.",
      'p-values are Holm-adjusted for comparing four metrics at once; a result is significant below α.',
    ],
  });
}
