import { existsSync } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import { ConfigError } from '../domain/errors';

/**
 * Where the chart's font is looked for, first found wins: DejaVu Sans as Debian/Ubuntu
 * (`fonts-dejavu-core`, installed in the Docker image), Alpine (`font-dejavu`), Fedora
 * (`dejavu-sans-fonts`) and Arch (`ttf-dejavu`) install it.
 */
export const CHART_FONT_FILES: readonly string[] = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf',
  '/usr/share/fonts/TTF/DejaVuSans.ttf',
];

/** Options of `renderTrendChartPng`: size in CSS pixels, and the font files to look for. */
export interface TrendChartOptions {
  readonly width?: number;
  readonly height?: number;
  /** Candidate font files (default `CHART_FONT_FILES`); the first that exists is used. */
  readonly fontFiles?: readonly string[];
}

const FONT_HINT = 'install one, e.g. Debian package fonts-dejavu-core';
const checkedFonts = new Map<string, boolean>();

/**
 * The font file the chart draws its text with: the first of `candidates` that exists and draws
 * glyphs (checked once per file by rendering "Ag" with resvg and counting dark pixels).
 * @throws ConfigError when there is none: resvg would otherwise drop every text silently.
 */
async function chartFontFile(candidates: readonly string[]): Promise<string> {
  const file = candidates.find((path) => existsSync(path));
  if (!file)
    throw new ConfigError(
      `no font for the trend chart (looked for ${candidates.join(', ')}): ${FONT_HINT}`,
    );
  if (!checkedFonts.has(file)) {
    const { Resvg } = await import('@resvg/resvg-js');
    const pixels = new Resvg(
      '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="24"><rect width="40" height="24" fill="white"/>' +
        '<text x="2" y="18" font-size="18" fill="black">Ag</text></svg>',
      { font: { loadSystemFonts: false, fontFiles: [file], defaultFontFamily: 'DejaVu Sans' } },
    ).render().pixels;
    let dark = 0;
    for (let i = 0; i < pixels.length; i += 4) if ((pixels[i] ?? 255) < 128) dark++;
    checkedFonts.set(file, dark > 0);
  }
  if (!checkedFonts.get(file))
    throw new ConfigError(`no font for the trend chart (${file} draws no glyphs): ${FONT_HINT}`);
  return file;
}

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
 * Fonts: only an explicit font file is loaded (`CHART_FONT_FILES`), never whatever the system has,
 * so the title, axes and legend look the same everywhere.
 * @throws ConfigError when no font is found (resvg would draw a chart without any text)
 */
export async function renderTrendChartPng(
  points: readonly ChartPoint[],
  options: TrendChartOptions = {},
): Promise<Buffer> {
  const { width = 560, height = 220, fontFiles = CHART_FONT_FILES } = options;
  const fontFile = await chartFontFile(fontFiles);
  // The bold face beside it (titles), when installed: resvg does not embolden a regular face.
  const bold = fontFile.replace(/\.ttf$/, '-Bold.ttf');
  const loaded = existsSync(bold) && bold !== fontFile ? [fontFile, bold] : [fontFile];
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
    config: { font: 'DejaVu Sans' },
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
      font: { loadSystemFonts: false, fontFiles: loaded, defaultFontFamily: 'DejaVu Sans' },
    })
      .render()
      .asPng();
    return Buffer.from(png);
  } finally {
    view.finalize();
  }
}
