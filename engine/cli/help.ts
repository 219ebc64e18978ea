/**
 * What `synthcse help [CMD]`, `CMD --help` and shell completion print: one entry per command, kept beside nothing
 * else so the help and the completion scripts cannot disagree.
 */

export interface CommandHelp {
  usage: string;
  summary: string;
  /** [flag, what it does]; the flags also feed shell completion. */
  options: [string, string][];
  /** Whether the command's first argument is a pipeline file (for completion). */
  takesPipeline?: boolean;
}

const CACHE: [string, string] = ['--cache DIR', 'the cache (default: SYNTHCSE_CACHE, else .synthcse/ next to the pipeline file)'];
const PIPELINE: [string, string][] = [
  ['--variant V', 'apply the variant V of the file'],
  ['--set PATH=VALUE', 'override one value, e.g. params.premises=5000 or nodes.train.with.epochs=5 (repeatable)'],
];

export const COMMAND_HELP: Record<string, CommandHelp> = {
  run: {
    usage: 'synthcse run FILE [options]',
    summary: 'run a pipeline; Ctrl-C once drains, twice aborts; run the same command again to resume',
    takesPipeline: true,
    options: [
      ...PIPELINE,
      ['--only NODE', 'run only NODE and what it needs (repeatable)'],
      ['--force NODE', 'run NODE again even if it is cached (repeatable)'],
      ['--budget USD', 'start no LLM request that could take the spend past USD (exit 3 when reached)'],
      ['--max-failed SHARE', 'share of a node\'s items allowed to fail, e.g. 5% (default 0; a node\'s own max_failed wins)'],
      ['--jobs N', 'nodes running at once (default 2)'],
      ['--json', 'events as NDJSON on stdout instead of the progress display'],
      ['--redis URL', 'send the online LLM calls to `synthcse worker` processes through this Redis (BullMQ); this process stays the only cache writer'],
      CACHE,
    ],
  },
  plan: {
    usage: 'synthcse plan FILE [options]',
    summary: 'what would run, what is cached, what it costs and how long it takes, without running anything paid',
    takesPipeline: true,
    options: [...PIPELINE, ['--only NODE', 'plan only NODE and what it needs'], ['--explain', 'say what changed for each node that will run'], ['--json', 'one JSON object per node'], CACHE],
  },
  status: {
    usage: 'synthcse status [FILE] [options]',
    summary: 'the last run (of FILE): node states, items, tokens and cost per node',
    takesPipeline: true,
    options: [['--json', 'the same as JSON'], CACHE],
  },
  runs: {
    usage: 'synthcse runs [FILE] [options]',
    summary: 'past runs side by side: pipeline, variant, --set values, status, requests, cost and the metrics nodes reported',
    takesPipeline: true,
    options: [['--limit N', 'how many runs, newest first (default 20)'], ['--json', 'one JSON object per run'], CACHE],
  },
  show: {
    usage: 'synthcse show NODE [options]',
    summary: 'rows of a node\'s latest output (the output with rows when a node has several)',
    options: [['--head N', 'rows to print (default 10)'], ['--port P', 'which output'], ['--pipeline FILE', 'the node of this pipeline'], ['--json', 'rows as JSON lines'], CACHE],
  },
  export: {
    usage: 'synthcse export NODE --out FILE|DIR/ [options]',
    summary: 'write a node\'s output: rows as .jsonl, .csv or .tsv, the model file, or a model as a sentence-transformers folder (DIR/)',
    options: [['--out FILE|DIR/', 'where to write'], ['--port P', 'which output'], ['--pipeline FILE', 'the node of this pipeline'], CACHE],
  },
  dag: {
    usage: 'synthcse dag FILE [options]',
    summary: 'the pipeline graph as Mermaid or Graphviz dot',
    takesPipeline: true,
    options: [['--format mermaid|dot', 'output format (default mermaid)'], ...PIPELINE],
  },
  diff: {
    usage: 'synthcse diff A.yaml [B.yaml] [options]',
    summary: 'which nodes two pipelines or variants share (those are served from the cache when you switch)',
    takesPipeline: true,
    options: [['--variant X', 'compare variants (give it twice, or once against the base)'], ['--set PATH=VALUE', 'override a value on both sides']],
  },
  gc: {
    usage: 'synthcse gc [options]',
    summary: 'remove cache entries that no pipeline under DIR can reach; print the cache size',
    options: [
      ['--root DIR', 'where to look for pipelines (default: the current folder)'],
      ['--keep-runs N', 'also keep the node results of the last N runs of each pipeline (default 1)'],
      ['--dry-run', 'say what would be removed'],
      CACHE,
    ],
  },
  doctor: {
    usage: 'synthcse doctor [options]',
    summary: 'check the cache for damage (and whether it can be written); repair what can be repaired',
    options: [['--repair', 'repair what can be repaired'], CACHE],
  },
  eval: {
    usage: 'synthcse eval --model MODEL.onnx [options]',
    summary: 'STS evaluation (Spearman) of an exported model',
    options: [['--model FILE', 'the ONNX model'], ['--baseline FILE', 'a second model for a side-by-side row'], ['--data FOLDER', 'the data folder'], ['--tasks t1,t2', 'which tasks'], ['--json', 'results as JSON']],
  },
  schema: {
    usage: 'synthcse schema [--out FILE]',
    summary: 'the JSON Schema of pipeline files, for editors',
    options: [['--out FILE', 'write it to FILE instead of stdout']],
  },
  report: {
    usage: 'synthcse report [FILE] --out report.html [options]',
    summary: 'a self-contained HTML report of the last run (of FILE), of one run, or of runs side by side',
    takesPipeline: true,
    options: [['--out FILE', 'the HTML file to write'], ['--run ID', 'report this run (synthcse runs lists them)'], ['--compare', 'the positional arguments are run ids: render them side by side'], CACHE],
  },
  worker: {
    usage: 'synthcse worker --redis URL [options]',
    summary: 'send the LLM calls and run the item work of runs started with `run --redis URL`, until SIGINT or SIGTERM (then it finishes the jobs it has)',
    options: [
      ['--redis URL', 'the Redis the coordinator uses, e.g. redis://127.0.0.1:6379'],
      ['--concurrency N', 'calls in flight in this worker (default 16)'],
      ['--item-concurrency N', 'item-work jobs (node types\' itemWork) this worker runs at once (default 1)'],
      ['--base-url URL', 'this worker\'s own endpoint (e.g. its local vLLM or llama.cpp server); the key comes from its environment'],
      ['--lock-ms MS', 'how long a job stays claimed without a heartbeat before another worker gets it (default 30000)'],
    ],
  },
  completion: {
    usage: 'synthcse completion bash|zsh',
    summary: 'a shell completion script: eval "$(synthcse completion bash)"',
    options: [],
  },
  help: {
    usage: 'synthcse help [COMMAND]',
    summary: 'this help, or the help of one command',
    options: [],
  },
};

export const GLOBAL_OPTIONS: [string, string][] = [
  ['-q, --quiet', 'print only warnings, failures and results'],
  ['-v, --verbose', 'progress lines every 2 s when not on a terminal, and stack traces of internal errors'],
  ['--version', 'print the version'],
  ['-h, --help', 'help (after a command: that command\'s help)'],
];

function optionLines(options: [string, string][]): string[] {
  const width = Math.max(0, ...options.map(([flag]) => flag.length));
  return options.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}

export function globalHelp(): string {
  const width = Math.max(...Object.keys(COMMAND_HELP).map((c) => c.length));
  return [
    'synthcse: pipelines for sentence embeddings trained on LLM-written data',
    '',
    'Usage: synthcse COMMAND [options]   (synthcse help COMMAND for its options)',
    '',
    'Commands:',
    ...Object.entries(COMMAND_HELP).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'Options for every command:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Exit codes: 0 done, 1 a node or the cache failed, 2 usage or pipeline error, 3 budget reached, 4 too many failed items, 130 interrupted.',
  ].join('\n');
}

export function commandHelp(name: string): string | undefined {
  const c = COMMAND_HELP[name];
  if (!c) return undefined;
  return [`Usage: ${c.usage}`, '', c.summary, ...(c.options.length ? ['', 'Options:', ...optionLines(c.options)] : []), '', 'Options for every command:', ...optionLines(GLOBAL_OPTIONS)].join('\n');
}

function flagsOf(c: CommandHelp): string[] {
  return c.options.map(([flag]) => flag.split(/[ ,]/)[0]!).filter((f) => f.startsWith('-')).concat(['--help', '--quiet', '--verbose']);
}

/** A completion script for bash or zsh (zsh through bashcompinit), generated from COMMAND_HELP. */
export function completionScript(shell: string): string | undefined {
  if (shell !== 'bash' && shell !== 'zsh') return undefined;
  const commands = Object.keys(COMMAND_HELP).join(' ');
  const cases = Object.entries(COMMAND_HELP)
    .map(([name, c]) => `    ${name}) opts="${flagsOf(c).join(' ')}"; files=${c.takesPipeline ? 'yaml' : 'any'} ;;`)
    .join('\n');
  const body = `_synthcse() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands} --help --version" -- "$cur") )
    return
  fi
  local opts files
  case "\${COMP_WORDS[1]}" in
${cases}
    *) opts=""; files=any ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  elif [ "$files" = yaml ]; then
    COMPREPLY=( $(compgen -f -X '!*.y*ml' -- "$cur") $(compgen -d -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -F _synthcse synthcse
`;
  return shell === 'zsh' ? `autoload -U +X bashcompinit && bashcompinit\n${body}` : body;
}
