/**
 * The standard SentEval STS test files (STS12–16, STS Benchmark test, SICK test), from the public locations
 * SentEval's data/downstream/get_transfer_data.bash downloads them from, for the tasks a data folder lacks.
 * Each archive is downloaded once into the cache; each member used is stored in the cache keyed by the archive's
 * sha256 and its path inside it (so results are keyed by content, never by a re-download). Subsets are SentEval's
 * (STS13 without SMT, which is not distributed); STS16's STS2016.* names become STS.* as SentEval renames them.
 * Text is the original: SentEval also runs the Moses tokenizer over it, which synthcse does not.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { sha256 } from '../../engine/json.js';
import { NodeUserError } from '../../engine/node-type.js';
import { unzip, untarGz } from '../data/archives.js';
import { downloadOnce, overlayFolder, type FetchContext } from './remote.js';
import { discoverTasks, type TaskName } from './tasks.js';

interface SentEvalSource {
  task: TaskName;
  url: string;
  archive: 'zip' | 'tar.gz';
  /** Place in the data folder → a pattern matching the member's path in the archive. */
  members: Record<string, RegExp>;
}

function stsYear(task: TaskName, folder: string, url: string, subsets: readonly string[]): SentEvalSource {
  const members: Record<string, RegExp> = {};
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  for (const subset of subsets) {
    members[`${folder}/STS.input.${subset}.txt`] = new RegExp(`(^|/)STS(2016)?\\.input\\.${escape(subset)}\\.txt$`);
    members[`${folder}/STS.gs.${subset}.txt`] = new RegExp(`(^|/)STS(2016)?\\.gs\\.${escape(subset)}\\.txt$`);
  }
  return { task, url, archive: 'zip', members };
}

export const SENTEVAL_SOURCES: readonly SentEvalSource[] = [
  stsYear('STS12', 'sts12', 'http://ixa2.si.ehu.es/stswiki/images/4/40/STS2012-en-test.zip', ['MSRpar', 'MSRvid', 'SMTeuroparl', 'surprise.OnWN', 'surprise.SMTnews']),
  stsYear('STS13', 'sts13', 'http://ixa2.si.ehu.es/stswiki/images/2/2f/STS2013-en-test.zip', ['FNWN', 'headlines', 'OnWN']),
  stsYear('STS14', 'sts14', 'http://ixa2.si.ehu.es/stswiki/images/8/8c/STS2014-en-test.zip', ['deft-forum', 'deft-news', 'headlines', 'images', 'OnWN', 'tweet-news']),
  stsYear('STS15', 'sts15', 'http://ixa2.si.ehu.es/stswiki/images/d/da/STS2015-en-test.zip', ['answers-forums', 'answers-students', 'belief', 'headlines', 'images']),
  stsYear('STS16', 'sts16', 'http://ixa2.si.ehu.es/stswiki/images/9/98/STS2016-en-test.zip', ['answer-answer', 'headlines', 'plagiarism', 'postediting', 'question-question']),
  { task: 'STS-B', url: 'http://ixa2.si.ehu.es/stswiki/images/4/48/Stsbenchmark.tar.gz', archive: 'tar.gz', members: { 'stsb/sts-test.csv': /(^|\/)sts-test\.csv$/ } },
  {
    task: 'SICK-R',
    url: 'http://alt.qcri.org/semeval2014/task1/data/uploads/sick_test_annotated.zip',
    archive: 'zip',
    members: { 'sick/SICK_test_annotated.txt': /(^|\/)SICK_test_annotated\.txt$/ },
  },
];

const FETCH_TIMEOUT_MS = 60_000;

export interface SentEvalOptions {
  /** Fetch every archive from `${mirror}/${its file name}` instead of its public location. */
  mirror?: string;
}

export interface SentEvalResult {
  /** The folder to evaluate: the local files plus what was fetched. */
  folder: string;
  fetched: TaskName[];
  /** Set when the files could not be downloaded: what went wrong, for the node's warning. */
  unreachable?: string;
}

function urlOf(source: SentEvalSource, options: SentEvalOptions): string {
  return options.mirror === undefined ? source.url : `${options.mirror.replace(/\/+$/, '')}/${basename(new URL(source.url).pathname)}`;
}

async function fetchSource(source: SentEvalSource, url: string, ctx: FetchContext): Promise<Record<string, string>> {
  const archivePath = await downloadOnce(url, undefined, ctx);
  const bytes = readFileSync(archivePath);
  const digest = sha256(bytes);
  let members: Map<string, Buffer>;
  try {
    members = source.archive === 'zip' ? unzip(bytes) : untarGz(bytes);
  } catch (error) {
    throw new NodeUserError(`${url}: ${(error as Error).message}`, ['senteval'], 'the download is not the SentEval archive; check the URL or mirror');
  }
  const placed: Record<string, string> = {};
  for (const [place, pattern] of Object.entries(source.members)) {
    const name = [...members.keys()].find((m) => pattern.test(m));
    if (name === undefined) throw new NodeUserError(`${url} has no member matching ${pattern} (for ${place})`, ['senteval'], 'the archive is not the SentEval one; check the URL or mirror');
    placed[place] = await ctx.memoFile({ evalData: 'senteval-member@1', archive: digest, member: name }, async (out) => writeFileSync(out, members.get(name)!));
  }
  return placed;
}

/**
 * The tasks the local folder lacks, fetched. A network failure stops the fetching (the others would fail alike)
 * and is reported in `unreachable`; the tasks fetched before it are kept. An archive that is not what SentEval
 * downloads is an error.
 */
export async function withSentEvalFiles(local: string, options: SentEvalOptions, ctx: FetchContext): Promise<SentEvalResult> {
  const { missing } = discoverTasks(local);
  const wanted = SENTEVAL_SOURCES.filter((s) => missing.includes(s.task));
  const added: Record<string, string> = {};
  const fetched: TaskName[] = [];
  let unreachable: string | undefined;
  for (const source of wanted) {
    const url = urlOf(source, options);
    try {
      // A host that never answers must not hold the evaluation up for long: the archives are small.
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]);
      Object.assign(added, await fetchSource(source, url, { memoFile: (key, build) => ctx.memoFile(key, build), tempDir: () => ctx.tempDir(), signal }));
      fetched.push(source.task);
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (error instanceof NodeUserError && /^cannot download /.test(error.message)) {
        unreachable = error.message;
        break;
      }
      throw error;
    }
  }
  if (fetched.length === 0) return { folder: local, fetched, ...(unreachable === undefined ? {} : { unreachable }) };
  return { folder: overlayFolder(local, added, ctx), fetched, ...(unreachable === undefined ? {} : { unreachable }) };
}
