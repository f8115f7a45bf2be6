/** The page's style sheet, served as /assets/app.css (the Content-Security-Policy allows no inline style). */
export const PAGE_CSS = `
:root { --bg: #0f1419; --panel: #171d24; --line: #2a333d; --text: #d8dee6; --muted: #8593a3; --ok: #3fb950; --bad: #f85149; --warn: #d29922; --bar: #4c9ffe; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; gap: 16px; align-items: baseline; padding: 14px 24px; border-bottom: 1px solid var(--line); }
header h1 { margin: 0; font-size: 20px; letter-spacing: 0.5px; }
main { padding: 16px 24px; display: grid; gap: 16px; }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; overflow-x: auto; }
h2 { margin: 0 0 10px; font-size: 15px; }
h3 { margin: 14px 0 6px; font-size: 13px; color: var(--muted); }
.muted { color: var(--muted); font-weight: normal; }
.badge { margin-left: auto; border: 1px solid var(--line); border-radius: 10px; padding: 1px 8px; font-size: 12px; color: var(--muted); }
#error { margin: 16px 24px 0; padding: 10px 14px; border: 1px solid var(--bad); border-radius: 8px; color: var(--bad); }
#summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.4px; }
.card .value { font-size: 18px; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px 5px 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
td.num { font-variant-numeric: tabular-nums; }
code, .id { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.online { color: var(--ok); } .offline { color: var(--bad); } .pending { color: var(--warn); }
#uptime-strip { display: flex; gap: 3px; flex-wrap: wrap; }
.epoch { width: 18px; height: 18px; border-radius: 3px; background: var(--line); }
.epoch.credited { background: var(--ok); }
#chart svg { width: 100%; max-width: 900px; height: auto; }
#chart .bar { fill: var(--bar); }
#chart .axis { stroke: var(--muted); stroke-width: 1; }
#chart text { fill: var(--muted); font-size: 11px; }
ul { margin: 0; padding-left: 18px; }
li { margin: 3px 0; }
.sev { display: inline-block; min-width: 62px; font-size: 11px; text-transform: uppercase; font-weight: 600; }
.sev.critical { color: var(--bad); } .sev.warning { color: var(--warn); }
footer { padding: 8px 24px 20px; font-size: 12px; }
`
