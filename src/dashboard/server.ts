import {readFileSync} from 'node:fs'
import {createServer, type ServerResponse} from 'node:http'

import {listenOn, urlAuthority, type ListenAddress} from '../util/http-listen.js'
import {loopbackAuthorities} from './bind.js'
import {pageHtml} from './page/html.js'
import {PAGE_ICON_SVG} from './page/icon.js'
import {PAGE_CSS} from './page/styles.js'
import type {DashboardSnapshot} from './snapshot.js'

/**
 * The dashboard's HTTP side: the page, its script and style (all from this package, nothing from
 * elsewhere), and the JSON the page polls. GET only; nothing here signs, sends or writes.
 */

/** The page may load only what this server serves, run no inline script and be framed by nobody. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
}

/** The JSON endpoints: each one part of the snapshot. */
const API: Record<string, (s: DashboardSnapshot) => unknown> = {
  '/api/status': (s) => s.status,
  '/api/history': (s) => s.history,
  '/api/earnings': (s) => s.earnings,
  '/api/alerts': (s) => s.alerts,
  '/api/fleet': (s) => s.fleet,
}

/** The page's browser modules, compiled by tsc next to this file (dist/dashboard/page/). */
const SCRIPTS = ['app.js', 'chart.js']

export interface DashboardServerOptions {
  address: ListenAddress
  snapshot: () => Promise<DashboardSnapshot>
  refreshSeconds: number
  /** The `--json` shape of an error ({code, exitCode, message, hint}): what /api/* answers with 503 when the chain cannot be read. */
  describeError: (error: unknown) => Record<string, unknown>
  /** Answer any Host header (a deliberate non-loopback bind); otherwise only the loopback names of the bound port. */
  anyHost: boolean
}

export interface ServedDashboard {
  /** http://host:port/ */
  url: string
  address: ListenAddress
  close(): Promise<void>
}

export async function serveDashboard(o: DashboardServerOptions): Promise<ServedDashboard> {
  const assets = new Map<string, {type: string; body: string}>([
    ['/assets/app.css', {type: 'text/css; charset=utf-8', body: PAGE_CSS}],
    ['/assets/icon.svg', {type: 'image/svg+xml', body: PAGE_ICON_SVG}],
  ])
  for (const name of SCRIPTS)
    assets.set(`/assets/${name}`, {type: 'text/javascript; charset=utf-8', body: browserModule(new URL(`./page/${name}`, import.meta.url))})
  let hosts: Set<string> | undefined
  const send = (res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}) =>
    res.writeHead(status, {...SECURITY_HEADERS, 'content-type': type, ...extra}).end(body)

  const server = createServer((req, res) => {
    if (hosts && !hosts.has((req.headers.host ?? '').toLowerCase())) {
      send(res, 421, 'text/plain; charset=utf-8', 'this dashboard answers only on its loopback address\n')
      return
    }
    if (req.method !== 'GET') {
      send(res, 405, 'text/plain; charset=utf-8', 'the dashboard is read-only: GET only\n', {allow: 'GET'})
      return
    }
    const path = (req.url ?? '/').split('?')[0]!
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', pageHtml(o.refreshSeconds))
    const asset = assets.get(path)
    if (asset) return send(res, 200, asset.type, asset.body)
    const part = API[path]
    if (!part) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n')
    o.snapshot().then(
      (s) => send(res, 200, 'application/json; charset=utf-8', JSON.stringify(part(s))),
      (error: unknown) => send(res, 503, 'application/json; charset=utf-8', JSON.stringify({error: o.describeError(error)})),
    )
  })
  const bound = await listenOn(server, o.address, 'the dashboard', 'pick a free port: --port 0 takes any free one')
  if (!o.anyHost) hosts = loopbackAuthorities(bound.port)
  return {
    address: bound,
    url: `http://${urlAuthority(bound)}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections() // a request still waiting on a chain read would hold close() open
      }),
  }
}

/** A compiled page module without its source-map comment (the map is not served). */
function browserModule(file: URL): string {
  return readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n')
}
