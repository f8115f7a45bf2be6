/**
 * The page's HTML shell: no inline script or style (the Content-Security-Policy allows neither), the
 * sections app.js fills in. Only a number is put into it; everything read from the chain is set by
 * app.js through textContent and attributes, never parsed as HTML.
 */
export function pageHtml(refreshSeconds: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>unet dashboard</title>
<link rel="stylesheet" href="/assets/app.css">
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
</head>
<body data-refresh="${Math.max(1, Math.floor(refreshSeconds))}" data-state="loading">
<header>
  <h1>unet</h1>
  <span id="network" class="muted">loading…</span>
  <span id="updated" class="muted"></span>
  <span class="badge">read-only</span>
</header>
<div id="error" role="alert" hidden></div>
<main>
  <section id="summary" aria-label="summary"></section>
  <section id="devices">
    <h2>Devices</h2>
    <table id="devices-table">
      <thead><tr><th></th><th>device</th><th>kind</th><th>status</th><th>power</th><th>uptime</th><th>last credited</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="uptime">
    <h2>Uptime <span class="muted" id="uptime-caption"></span></h2>
    <div id="uptime-strip"></div>
  </section>
  <section id="earnings">
    <h2>Earnings per epoch <span class="muted" id="earnings-caption"></span></h2>
    <div id="chart"></div>
  </section>
  <section id="fleet">
    <h2>Fleet</h2>
    <table id="fleet-table">
      <thead><tr><th></th><th>host</th><th>operator</th><th>payout</th><th>devices</th><th>uptime</th><th>power</th><th>claimable</th><th>last credited</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="fleet-note" class="muted"></p>
  </section>
  <section id="alerts">
    <h2>Alerts</h2>
    <ul id="alerts-list"></ul>
    <h3>Why a device is not earning</h3>
    <ul id="explain-list"></ul>
  </section>
</main>
<footer class="muted">Served by <code>unet dashboard</code> from chain data; it signs and sends nothing.</footer>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`
}
