/**
 * Left-to-right layered layout of a small DAG: one column per generation, nodes in a column ordered by the mean
 * position of their neighbours (a few barycenter sweeps), which removes most crossings in pipelines of this size.
 */

export interface LayoutBox {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LayoutEdge {
  from: string;
  to: string;
  /** SVG path data from the right side of `from` to the left side of `to`. */
  path: string;
  /** Where to put a label on the edge. */
  labelX: number;
  labelY: number;
}

export interface Layout {
  width: number;
  height: number;
  boxes: Map<string, LayoutBox>;
  edges: LayoutEdge[];
}

export interface LayoutOptions {
  nodeHeight: number;
  /** Width of a node box from its label (the caller knows the font). */
  nodeWidth(id: string): number;
  columnGap: number;
  rowGap: number;
  margin: number;
}

const SWEEPS = 4;

export function layeredLayout(levels: readonly (readonly string[])[], edges: readonly { from: string; to: string }[], options: LayoutOptions): Layout {
  const columns = levels.map((level) => [...level]);
  const upstream = new Map<string, string[]>();
  const downstream = new Map<string, string[]>();
  for (const { from, to } of edges) {
    (upstream.get(to) ?? upstream.set(to, []).get(to)!).push(from);
    (downstream.get(from) ?? downstream.set(from, []).get(from)!).push(to);
  }
  const rank = new Map<string, number>();
  const setRanks = () => columns.forEach((column) => column.forEach((id, i) => rank.set(id, i)));
  setRanks();
  const reorder = (column: string[], neighbours: Map<string, string[]>) => {
    const weight = (id: string) => {
      const ranks = (neighbours.get(id) ?? []).map((n) => rank.get(n)).filter((r): r is number => r !== undefined);
      return ranks.length > 0 ? ranks.reduce((s, r) => s + r, 0) / ranks.length : rank.get(id)!;
    };
    const weights = new Map(column.map((id) => [id, weight(id)]));
    column.sort((a, b) => weights.get(a)! - weights.get(b)! || rank.get(a)! - rank.get(b)!);
    column.forEach((id, i) => rank.set(id, i));
  };
  for (let sweep = 0; sweep < SWEEPS; sweep++) {
    for (let c = 1; c < columns.length; c++) reorder(columns[c]!, upstream);
    for (let c = columns.length - 2; c >= 0; c--) reorder(columns[c]!, downstream);
  }

  const { nodeHeight, columnGap, rowGap, margin } = options;
  const tallest = Math.max(1, ...columns.map((c) => c.length));
  const height = margin * 2 + tallest * nodeHeight + (tallest - 1) * rowGap;
  const boxes = new Map<string, LayoutBox>();
  let x = margin;
  for (const column of columns) {
    const width = Math.max(0, ...column.map((id) => options.nodeWidth(id)));
    const columnHeight = column.length * nodeHeight + (column.length - 1) * rowGap;
    let y = (height - columnHeight) / 2;
    for (const id of column) {
      boxes.set(id, { id, x, y, width, height: nodeHeight });
      y += nodeHeight + rowGap;
    }
    x += width + columnGap;
  }
  const width = Math.max(margin * 2, x - columnGap + margin);

  const laidEdges: LayoutEdge[] = [];
  for (const { from, to } of edges) {
    const a = boxes.get(from);
    const b = boxes.get(to);
    if (!a || !b) continue;
    const x1 = a.x + a.width;
    const y1 = a.y + a.height / 2;
    const x2 = b.x;
    const y2 = b.y + b.height / 2;
    const bend = Math.max(24, (x2 - x1) / 2);
    laidEdges.push({
      from,
      to,
      path: `M${r(x1)},${r(y1)} C${r(x1 + bend)},${r(y1)} ${r(x2 - bend)},${r(y2)} ${r(x2)},${r(y2)}`,
      labelX: r((x1 + x2) / 2),
      labelY: r((y1 + y2) / 2),
    });
  }
  return { width: r(width), height: r(height), boxes, edges: laidEdges };
}

function r(n: number): number {
  return Math.round(n * 10) / 10;
}
