import type { TopLevelSpec } from 'vega-lite';

/** One point of the chart: a processor's discrepancy rate (a fraction, e.g. 0.0165) on a date. */
export interface ChartPoint {
  readonly businessDate: string;
  readonly processor: string;
  readonly discrepancyRate: number;
}

/**
 * Renders the discrepancy-rate trend (one line per processor over business dates) as a PNG,
 * server-side: a Vega-Lite spec (https://vega.github.io/vega-lite/) compiled to Vega, rendered to
 * SVG by Vega's headless view, rasterised by resvg. No browser, no canvas, nothing downloaded.
 * Fonts: resvg uses the system fonts and falls back to none; text then stays empty but the lines
 * are drawn.
 */
export async function renderTrendChartPng(
  points: readonly ChartPoint[],
  width = 560,
  height = 220,
): Promise<Buffer> {
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width,
    height,
    background: 'white',
    padding: 8,
    title: {
      text: 'Discrepancy rate per processor (last 14 business dates)',
      fontSize: 13,
      anchor: 'start',
    },
    data: {
      values: points.map((p) => ({
        date: p.businessDate,
        processor: p.processor,
        rate: p.discrepancyRate,
      })),
    },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'date', type: 'ordinal', title: 'business date', axis: { labelAngle: -40 } },
      y: {
        field: 'rate',
        type: 'quantitative',
        title: 'discrepancy rate',
        axis: { format: '.1%' },
      },
      color: { field: 'processor', type: 'nominal', title: 'processor' },
    },
    config: { font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif' },
  };
  // Loaded on first use (~0.1 s): runs that draw no chart do not pay for them.
  const [vega, { compile }, { Resvg }] = await Promise.all([
    import('vega'),
    import('vega-lite'),
    import('@resvg/resvg-js'),
  ]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, {
      background: 'white',
      fitTo: { mode: 'width', value: width + 160 },
    })
      .render()
      .asPng();
    return Buffer.from(png);
  } finally {
    view.finalize();
  }
}
