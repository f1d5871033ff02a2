/**
 * The adding problem's charts as SVG, with vega-lite: a declarative grammar of graphics whose
 * specs are plain JSON, compiled to vega, which renders SVG in Node with no canvas and no browser
 * (`renderer: 'none'`, then `toSVG()`); log scales, legends and multi-series line charts are one
 * field each. (Chart.js and ECharts need a canvas or a DOM for SVG; D3 alone would mean drawing
 * axes and legends by hand.)
 */
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

export interface Point {
  readonly series: string;
  readonly x: number;
  readonly y: number;
}

export interface LineChart {
  readonly title: string;
  readonly x: string;
  readonly y: string;
  readonly logY?: boolean;
  readonly points: readonly Point[];
  /** A horizontal reference line (e.g. a baseline), with its label. */
  readonly rule?: { readonly y: number; readonly label: string };
  /** Series whose name contains this string are drawn dashed (e.g. 'init'). */
  readonly dashed?: string;
  /** One color per series, in the order the series first appear (default: vega's palette). */
  readonly colors?: readonly string[];
}

/** The chart as an SVG document. */
export async function lineChartSvg(c: LineChart): Promise<string> {
  const series = [...new Set(c.points.map((p) => p.series))];
  const line = {
    mark: { type: 'line', strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: c.x },
      y: { field: 'y', type: 'quantitative', title: c.y, scale: c.logY ? { type: 'log' } : {}, axis: { format: c.logY ? '.0e' : '' } },
      color: { field: 'series', type: 'nominal', title: null, sort: series, legend: { orient: 'bottom', columns: 1, labelLimit: 600 }, ...(c.colors ? { scale: { domain: series, range: [...c.colors] } } : {}) },
      ...(c.dashed ? { strokeDash: { condition: { test: `indexof(datum.series, ${JSON.stringify(c.dashed)}) >= 0`, value: [6, 4] }, value: [1, 0] } } : {}),
    },
  };
  const layers: object[] = [line];
  if (c.rule) {
    layers.push({ data: { values: [{ y: c.rule.y }] }, mark: { type: 'rule', strokeDash: [2, 2], color: 'gray' }, encoding: { y: { field: 'y', type: 'quantitative' } } });
    layers.push({ data: { values: [{ y: c.rule.y, label: c.rule.label }] }, mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'gray' }, encoding: { y: { field: 'y', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } } });
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: c.title,
    width: 560,
    height: 300,
    data: { values: c.points.map((p) => ({ ...p })) },
    layer: layers,
    config: { font: 'sans-serif' },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec as vegaLite.TopLevelSpec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
