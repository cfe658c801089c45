import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../util/package-root.js';

export interface Asset {
  body: string;
  type: string;
}

const require = createRequire(import.meta.url);
const DASHBOARD_DIR = path.join(packageRoot, 'src', 'serve', 'dashboard');

/** Everything the dashboard loads, read once at start-up and served by fxpipe itself: it works with no internet. */
export function loadAssets(): Map<string, Asset> {
  const uplot = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const read = (file: string, type: string): Asset => ({ body: readFileSync(file, 'utf8'), type });
  return new Map([
    ['/', read(path.join(DASHBOARD_DIR, 'index.html'), 'text/html; charset=utf-8')],
    ['/assets/dashboard.js', read(path.join(DASHBOARD_DIR, 'dashboard.js'), 'text/javascript; charset=utf-8')],
    ['/assets/dashboard.css', read(path.join(DASHBOARD_DIR, 'dashboard.css'), 'text/css; charset=utf-8')],
    ['/assets/uPlot.iife.min.js', read(path.join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8')],
    ['/assets/uPlot.min.css', read(path.join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8')],
  ]);
}
