/** The report's stylesheet (inlined). States share one colour per state across the table, the DAG and the legend. */
export const REPORT_CSS = `
:root {
  --ink: #1d2330; --muted: #5c6370; --faint: #8a919c; --line: #e3e6eb; --paper: #f6f7f9; --card: #ffffff;
  --accent: #1971c2;
  --cached: #5b7bb3; --ran: #2f9e44; --partial: #e67700; --failed: #e03131; --interrupted: #9c36b5; --skipped: #adb5bd; --not-run: #ced4da;
}
* { box-sizing: border-box; }
html { background: var(--paper); }
body { margin: 0; color: var(--ink); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1360px; margin: 0 auto; padding: 28px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 2px; letter-spacing: -0.01em; }
h2 { font-size: 17px; margin: 0 0 14px; }
h3 { font-size: 14px; margin: 18px 0 8px; color: var(--muted); font-weight: 600; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.subtitle { color: var(--muted); margin: 0 0 18px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 20px 22px; margin: 0 0 20px; box-shadow: 0 1px 2px rgba(16, 24, 40, .04); }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 14px; margin: 0 0 20px; }
.metric { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 12px 16px; }
.metric .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.metric .value { font-size: 20px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.metric .note { color: var(--faint); font-size: 12px; }
.command { color: var(--muted); margin: 10px 0 0; overflow-wrap: anywhere; }
.notes { border-left: 4px solid var(--partial); background: #fff9db; padding: 10px 14px; border-radius: 8px; margin: 0 0 20px; }
.notes p { margin: 4px 0; }
.pill { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 600; color: #fff; white-space: nowrap; }
.pill.state-cached { background: var(--cached); } .pill.state-ran { background: var(--ran); } .pill.state-partial { background: var(--partial); }
.pill.state-failed { background: var(--failed); } .pill.state-interrupted { background: var(--interrupted); }
.pill.state-skipped { background: var(--skipped); } .pill.state-not-run { background: var(--not-run); color: var(--ink); }
.pill.status-ok { background: var(--ran); } .pill.status-failed { background: var(--failed); } .pill.status-interrupted, .pill.status-running { background: var(--interrupted); }
.pill.variant { background: #e7f0fb; color: var(--accent); }
.legend { display: flex; flex-wrap: wrap; gap: 8px; margin: 0 0 12px; }
.dag-wrap { overflow-x: auto; }
svg.dag { display: block; max-width: 100%; height: auto; font-family: inherit; }
svg.dag .edge { fill: none; stroke: #9aa3af; stroke-width: 1.6; }
svg.dag .arrowhead { fill: #9aa3af; }
svg.dag .edge-label { font-size: 11px; fill: var(--muted); paint-order: stroke; stroke: #fff; stroke-width: 4px; }
svg.dag .node rect { fill: #fff; stroke: #cfd5dd; stroke-width: 1.2; }
svg.dag a:hover .node rect:not(.state-bar) { stroke: var(--accent); }
tr:target { background: #e7f0fb; }
svg.dag .node .state-bar { stroke: none; }
svg.dag .node-title { font-size: 13px; font-weight: 650; fill: var(--ink); }
svg.dag .node-subtitle { font-size: 11.5px; fill: var(--muted); }
svg.dag .state-cached .state-bar { fill: var(--cached); } svg.dag .state-ran .state-bar { fill: var(--ran); }
svg.dag .state-partial .state-bar { fill: var(--partial); } svg.dag .state-failed .state-bar { fill: var(--failed); }
svg.dag .state-failed rect:not(.state-bar) { stroke: var(--failed); }
svg.dag .state-interrupted .state-bar { fill: var(--interrupted); } svg.dag .state-skipped .state-bar { fill: var(--skipped); }
svg.dag .state-not-run .state-bar { fill: var(--not-run); } svg.dag .state-not-run .node-title, svg.dag .state-skipped .node-title { fill: var(--faint); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .03em; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
tbody tr:hover { background: #fafbfc; }
.muted { color: var(--faint); }
.reasons { margin: 0; padding: 0; list-style: none; font-size: 12.5px; }
.reasons li { white-space: nowrap; }
td.node-name, td.llm { white-space: nowrap; }
td.details { min-width: 170px; overflow-wrap: anywhere; }
td.num .kv { white-space: normal; }
.reasons .n { font-weight: 600; font-variant-numeric: tabular-nums; }
.kv { font-size: 12.5px; color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 18px; }
.chart-box { border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px 4px; min-width: 0; }
.chart-box .caption { font-weight: 600; margin-bottom: 4px; }
.chart { width: 100%; min-height: 230px; }
table.results { width: auto; min-width: 520px; }
table.results td.best { font-weight: 700; }
table.results tr.baseline td { color: var(--muted); }
.sample { margin: 0 0 18px; }
.sample td { max-width: 420px; overflow-wrap: anywhere; font-size: 13px; }
footer { color: var(--faint); font-size: 12px; text-align: center; margin-top: 28px; }
`;
