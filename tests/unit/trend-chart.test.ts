import { ConfigError } from '../../src/domain/errors';
import { CHART_FONT_FILES, renderTrendChartPng } from '../../src/delivery/trend-chart';

const POINTS = ['2025-09-28', '2025-09-29', '2025-09-30'].flatMap((businessDate, i) => [
  { businessDate, processor: 'stripe', discrepancyRate: 0.02 * (i + 1) },
  { businessDate, processor: 'square', discrepancyRate: 0.01 },
]);

/** Dark pixels (any channel < 128) per band of rows of a PNG, decoded by drawing it with resvg. */
async function darkPixels(png: Buffer, fromRow: number, toRow: number): Promise<number> {
  const { Resvg } = await import('@resvg/resvg-js');
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const image = new Resvg(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      `<image href="data:image/png;base64,${png.toString('base64')}" width="${width}" height="${height}"/></svg>`,
  ).render();
  const pixels = image.pixels; // a getter that copies: read it once
  let dark = 0;
  for (let y = fromRow; y < Math.min(toRow, height); y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if ((pixels[i] ?? 255) < 128 && (pixels[i + 1] ?? 255) < 128) dark++;
    }
  }
  return dark;
}

describe('renderTrendChartPng', () => {
  it('renders the title, axes and legend with a font that was found and loaded', async () => {
    const png = await renderTrendChartPng(POINTS);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // The title is the only thing in the top rows: without a font they stay white.
    expect(await darkPixels(png, 0, 28)).toBeGreaterThan(200);
  });

  it('fails loudly when none of the font files exists, instead of drawing a chart without text', async () => {
    await expect(
      renderTrendChartPng(POINTS, { fontFiles: ['/nonexistent/font.ttf'] }),
    ).rejects.toThrow(
      new ConfigError(
        'no font for the trend chart (looked for /nonexistent/font.ttf): install one, e.g. Debian package fonts-dejavu-core',
      ),
    );
  });

  it('fails loudly when a font file holds no usable font', async () => {
    await expect(renderTrendChartPng(POINTS, { fontFiles: [__filename] })).rejects.toThrow(
      `no font for the trend chart (${__filename} draws no glyphs): install one, e.g. Debian package fonts-dejavu-core`,
    );
  });

  it('looks for DejaVu Sans where Debian, Alpine, Fedora and Arch put it', () => {
    expect(CHART_FONT_FILES).toEqual([
      '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
      '/usr/share/fonts/dejavu/DejaVuSans.ttf',
      '/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf',
      '/usr/share/fonts/TTF/DejaVuSans.ttf',
    ]);
  });
});
