// The dashboard's files (web/dashboard: a page, its script and style; no build step, no CDN), read once
// when the API server starts and served from memory.
import { readFile } from 'node:fs/promises';

/** One file the API server serves at `path`. */
export interface Asset {
  path: string;
  type: string;
  body: string;
}

// web/ sits beside src/ and dist/, so this resolves from either.
const ROOT = new URL('../../web/dashboard/', import.meta.url);
const FILES: readonly [path: string, file: string, type: string][] = [
  ['/', 'index.html', 'text/html; charset=utf-8'],
  ['/dashboard/app.js', 'app.js', 'text/javascript; charset=utf-8'],
  ['/dashboard/style.css', 'style.css', 'text/css; charset=utf-8'],
];

/**
 * The page's headers: its own script and style only (no inline code, nothing from elsewhere), so a
 * value from a repository that slipped into the page as markup could still run nothing.
 */
export const DASHBOARD_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-cache',
} as const;

/** Read the dashboard's files. */
export async function loadDashboard(): Promise<Asset[]> {
  return Promise.all(FILES.map(async ([path, file, type]) => ({ path, type, body: await readFile(new URL(file, ROOT), 'utf8') })));
}
