/**
 * The differential test: incremental equals clean. Random sequences of edits (data files, listed folders, plugin
 * modules and versions, package versions, environment variables, the LLM endpoint and model, parameters, nodes added
 * and removed, and edits that must change nothing) are applied to a small project, of a shape drawn from the seed,
 * that uses shipped node types, a plugin and the loopback LLM servers. After each edit the pipeline runs on the sequence's persistent cache and from scratch on an empty
 * one, and the test asserts that
 *   (a) every node's output digests are identical,
 *   (b) a node recomputed exactly when what it depends on (its part of the world, its inputs' digests) is in a
 *       combination this cache has not seen, and was cached otherwise,
 *   (c) no LLM request was sent that an earlier incremental run of the sequence had sent already.
 * Seeded: a failure prints the seed and the edit sequence. SYNTHCSE_DIFF_SEQUENCES (default 300),
 * SYNTHCSE_DIFF_EDITS (edits per sequence, default 3) and SYNTHCSE_DIFF_SEED (first seed, default 1) scale it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runPipeline } from '../../engine/api.js';
import { builtinRegistry } from '../../engine/cli/registry.js';
import { defaultResponder } from '../support/llm-responder.js';
import { startMockLlmServer, type MockLlmServer } from '../support/mock-llm-server.js';
import { EDITS, rng, type Rng } from './differential/edits.js';
import { envOf, initialState, pipelineNodes, writeWorld, type Endpoints, type State } from './differential/world.js';

const SEQUENCES = Number(process.env.SYNTHCSE_DIFF_SEQUENCES ?? 300);
const EDITS_PER_SEQUENCE = Number(process.env.SYNTHCSE_DIFF_EDITS ?? 3);
const FIRST_SEED = Number(process.env.SYNTHCSE_DIFF_SEED ?? 1);

interface RunView {
  states: Record<string, string>;
  outputs: Record<string, Record<string, string>>;
}

let servers: { a: MockLlmServer; b: MockLlmServer };
let endpoints: Endpoints;

before(async () => {
  // Endpoint b serves "the same model" with different answers: reusing a's answers there would show in the digests.
  const a = await startMockLlmServer({ seed: 1 });
  const b = await startMockLlmServer({ seed: 1, responder: (request) => `${defaultResponder(request)} Indeed.` });
  servers = { a, b };
  endpoints = { a: a.url, b: b.url };
});

after(async () => {
  await servers.a.close();
  await servers.b.close();
});

async function runOnce(dir: string, cacheDir: string, state: State): Promise<RunView> {
  const result = await runPipeline({ file: join(dir, 'pipeline.yaml'), registry: builtinRegistry, cacheDir, env: envOf(state), jobs: state.jobs });
  result.prepared.store.close();
  const failed = [...result.outcomes.values()].filter((o) => o.state !== 'ran' && o.state !== 'cached');
  if (failed.length > 0 || result.status !== 'ok') {
    throw new Error(`run ${result.status}: ${failed.map((o) => `${o.id} ${o.state} ${o.diagnostic?.message ?? ''}`).join('; ')}`);
  }
  const view: RunView = { states: {}, outputs: {} };
  for (const o of result.outcomes.values()) {
    view.states[o.id] = o.state;
    view.outputs[o.id] = Object.fromEntries(Object.entries(o.outputs ?? {}).map(([port, out]) => [port, out.digest]));
  }
  return view;
}

/** What node `id` depends on in this world, given the upstream outputs of this run. */
function dependencySnapshot(id: string, state: State, run: RunView): string {
  const node = pipelineNodes(state)[id]!;
  const parts = node.depends.map((field) => [field, state[field]]);
  const inputs = node.inputs.map((upstream) => run.outputs[upstream]);
  return JSON.stringify({ parts, inputs });
}

/** Request digests each server received, to tell which requests a run sent. */
function received(): Record<'a' | 'b', Map<string, number>> {
  return { a: new Map(servers.a.stats.received), b: new Map(servers.b.stats.received) };
}

function sentSince(before: Record<'a' | 'b', Map<string, number>>): string[] {
  const sent: string[] = [];
  for (const name of ['a', 'b'] as const) {
    for (const [digest, count] of servers[name].stats.received) if (count > (before[name].get(digest) ?? 0)) sent.push(`${name}:${digest}`);
  }
  return sent;
}

async function runSequence(seed: number): Promise<void> {
  const r: Rng = rng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'synthcse-diff-'));
  const cacheDir = join(dir, '.cache');
  const applied: string[] = [];
  const fail = (message: string) => {
    throw new Error(
      `Differential failure (seed ${seed}): ${message}\nEdits: ${applied.map((e, i) => `\n  ${i + 1}. ${e}`).join('')}\n` +
        `Reproduce: SYNTHCSE_DIFF_SEED=${seed} SYNTHCSE_DIFF_SEQUENCES=1 SYNTHCSE_DIFF_EDITS=${EDITS_PER_SEQUENCE} node --test dist/test/engine/differential.test.js`,
    );
  };
  try {
    let state = initialState({ tagStages: 1 + r.int(3), withAnnotate: r.int(4) > 0 });
    writeWorld(dir, state, endpoints);
    const seen = new Map<string, Set<string>>();
    const remember = (run: RunView, s: State) => {
      for (const id of Object.keys(pipelineNodes(s))) {
        const set = seen.get(id) ?? new Set<string>();
        set.add(dependencySnapshot(id, s, run));
        seen.set(id, set);
      }
    };
    let sentBefore = received();
    let first: RunView;
    try {
      first = await runOnce(dir, cacheDir, state);
    } catch (error) {
      return fail(`first run: ${(error as Error).message}`);
    }
    remember(first, state);
    const sentIncremental = new Set(sentSince(sentBefore));
    for (let step = 0; step < EDITS_PER_SEQUENCE; step++) {
      const edit = r.pick(EDITS);
      const next = edit.apply(state, r);
      applied.push(edit.name);
      writeWorld(dir, next, endpoints, state);
      state = next;
      sentBefore = received();
      let incremental: RunView;
      try {
        incremental = await runOnce(dir, cacheDir, state);
      } catch (error) {
        return fail(`incremental run after edit ${step + 1}: ${(error as Error).message}`);
      }
      for (const request of sentSince(sentBefore)) {
        if (sentIncremental.has(request)) fail(`after edit ${step + 1}, an LLM request was sent again for an unchanged item (${request})`);
        sentIncremental.add(request);
      }
      const cleanDir = join(dir, `.clean-${step}`);
      let clean: RunView;
      try {
        clean = await runOnce(dir, cleanDir, state);
      } catch (error) {
        return fail(`clean run after edit ${step + 1}: ${(error as Error).message}`);
      } finally {
        rmSync(cleanDir, { recursive: true, force: true });
      }
      const ids = Object.keys(pipelineNodes(state));
      if (JSON.stringify(Object.keys(incremental.states).sort()) !== JSON.stringify([...ids].sort())) fail(`after edit ${step + 1}, the run's nodes are not the pipeline's`);
      for (const id of ids) {
        if (JSON.stringify(incremental.outputs[id]) !== JSON.stringify(clean.outputs[id])) {
          fail(`after edit ${step + 1}, node ${id}'s output differs between the incremental run (${incremental.states[id]}) and a clean run`);
        }
        const isNew = !(seen.get(id)?.has(dependencySnapshot(id, state, incremental)) ?? false);
        const ran = incremental.states[id] === 'ran';
        if (isNew && !ran) fail(`after edit ${step + 1}, node ${id} depends on something new but was ${incremental.states[id]}`);
        if (!isNew && ran) fail(`after edit ${step + 1}, node ${id} recomputed although nothing it depends on is new`);
      }
      remember(incremental, state);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(`incremental runs equal clean runs over ${SEQUENCES} random edit sequences of ${EDITS_PER_SEQUENCE} edits`, async (t) => {
  const started = Date.now();
  for (let i = 0; i < SEQUENCES; i++) await runSequence(FIRST_SEED + i);
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`differential: ${SEQUENCES} sequences × ${EDITS_PER_SEQUENCE} edits (seeds ${FIRST_SEED}..${FIRST_SEED + SEQUENCES - 1}) in ${seconds.toFixed(1)} s`);
  assert.ok(SEQUENCES > 0);
});
