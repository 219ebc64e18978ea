/**
 * Files inlined into the report so it works offline: uPlot (MIT) from node_modules, and the small script that draws
 * the curves with it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface ChartAssets {
  css: string;
  js: string;
}

export function uplotAssets(): ChartAssets {
  return {
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
  };
}

/**
 * Runs in the page: one uPlot chart per curve, in the `.chart` elements render.ts lays out, from the curves in the
 * #report-data JSON block. Marks each drawn chart with data-drawn so tests and readers can tell it rendered.
 */
export const CHART_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var palette = { loss: '#d9480f', dev: '#1971c2' };
  var others = ['#2f9e44', '#ae3ec9', '#f08c00', '#0c8599'];
  var charts = [];
  document.querySelectorAll('.chart[data-curve]').forEach(function (el, n) {
    var curve = data.curves[Number(el.getAttribute('data-curve'))];
    if (!curve || curve.points.length === 0) return;
    var xs = curve.points.map(function (p) { return p[0]; });
    var ys = curve.points.map(function (p) { return p[1]; });
    var color = palette[curve.name] || others[n % others.length];
    var opts = {
      width: Math.max(240, el.clientWidth),
      height: 230,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false } },
      axes: [
        { stroke: '#5c6370', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#dde1e6' }, label: el.getAttribute('data-x-label') || '' , labelSize: 20, size: 36 },
        { stroke: '#5c6370', grid: { stroke: '#eef0f3' }, ticks: { stroke: '#dde1e6' }, size: 56 }
      ],
      series: [
        { label: el.getAttribute('data-x-label') || 'x' },
        { label: curve.name, stroke: color, width: 2, fill: color + '14', points: { show: curve.points.length <= 40, size: 5 } }
      ]
    };
    charts.push({ el: el, plot: new uPlot(opts, [xs, ys], el) });
    el.setAttribute('data-drawn', 'true');
  });
  var pending = 0;
  window.addEventListener('resize', function () {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      charts.forEach(function (c) { c.plot.setSize({ width: Math.max(240, c.el.clientWidth), height: 230 }); });
    });
  });
})();
`;
