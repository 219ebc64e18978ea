/** The run's DAG as an inline SVG: one box per node coloured by its state, edges labelled with the rows they carry. */
import { count, esc } from './format.js';
import { layeredLayout } from './layout.js';
import type { ReportData } from './types.js';

const NODE_HEIGHT = 58;
/** Approximate advance of the 13px UI font; boxes only need to be wide enough, not exact. */
const CHAR_WIDTH = 7.6;

export function dagSvg(data: ReportData): string {
  const byId = new Map(data.nodes.map((n) => [n.id, n]));
  const label = (id: string) => {
    const node = byId.get(id);
    return { title: id, subtitle: node ? `${node.type} · ${node.state}` : '' };
  };
  const levels = data.levels.length > 0 ? data.levels : [data.nodes.map((n) => n.id)];
  const placed = new Set(levels.flat());
  const edges = data.edges.filter((e) => placed.has(e.from) && placed.has(e.to));
  const layout = layeredLayout(
    levels,
    edges.map((e) => ({ from: e.from, to: e.to })),
    {
      nodeHeight: NODE_HEIGHT,
      nodeWidth: (id) => {
        const { title, subtitle } = label(id);
        return Math.max(130, Math.ceil(Math.max(title.length * (CHAR_WIDTH + 0.6), subtitle.length * (CHAR_WIDTH - 0.6))) + 28);
      },
      columnGap: 92,
      rowGap: 26,
      margin: 14,
    },
  );
  const parts: string[] = [];
  parts.push(
    `<svg class="dag" role="img" aria-label="Pipeline DAG" viewBox="0 0 ${layout.width} ${layout.height}" width="${layout.width}" height="${layout.height}" xmlns="http://www.w3.org/2000/svg">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
  );
  edges.forEach((edge, i) => {
    const laid = layout.edges[i]!;
    parts.push(`<path class="edge" d="${laid.path}" marker-end="url(#arrow)"><title>${esc(`${edge.from}.${edge.fromPort} → ${edge.to}.${edge.toPort}${edge.kind ? ` (${edge.kind})` : ''}`)}</title></path>`);
    const text = edge.rows !== null ? `${count(edge.rows)} rows` : edge.kind;
    if (text) parts.push(`<text class="edge-label" x="${laid.labelX}" y="${laid.labelY - 6}" text-anchor="middle">${esc(text)}</text>`);
  });
  for (const [id, box] of layout.boxes) {
    const node = byId.get(id);
    const { title, subtitle } = label(id);
    const tip = node ? `${id} (${node.type}): ${node.state}${node.rowsIn !== null ? `, ${count(node.rowsIn)} rows in` : ''}${node.rowsOut !== null ? `, ${count(node.rowsOut)} rows out` : ''}` : id;
    parts.push(
      `<a href="#node-${esc(id)}"><g class="node state-${esc(node?.state ?? 'not-run')}" data-node="${esc(id)}" transform="translate(${box.x},${box.y})"><title>${esc(tip)}</title>`,
      `<rect width="${box.width}" height="${box.height}" rx="9"/>`,
      `<rect class="state-bar" width="6" height="${box.height}" rx="3"/>`,
      `<text class="node-title" x="18" y="24">${esc(title)}</text>`,
      `<text class="node-subtitle" x="18" y="43">${esc(subtitle)}</text>`,
      '</g></a>',
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
