/**
 * The mock LLM's default content: plausible, deterministic replies recognised from the prompt (SynCSE positives and
 * hard negatives, similarity scores, DINO continuations, SynCSE-scratch sentence lists), an echo otherwise.
 */
import { createHash } from 'node:crypto';

export interface MockChatRequest {
  /** Which protocol the request came in on. */
  api: 'anthropic' | 'openai';
  /** 0 for the first sample of a request body, 1 for the second...: stands in for sampling randomness. */
  variant: number;
  model: string;
  system: string | undefined;
  messages: { role: string; content: string }[];
  maxTokens: number;
  stop: string[];
}

export type MockResponder = (request: MockChatRequest) => string;

export function hashNumber(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}

function pick<T>(items: readonly T[], seed: string): T {
  return items[hashNumber(seed) % items.length]!;
}

const SYNONYMS: Record<string, string> = {
  big: 'large', large: 'big', small: 'little', little: 'small', man: 'guy', woman: 'lady', men: 'guys', women: 'ladies',
  child: 'kid', children: 'kids', kid: 'child', dog: 'puppy', car: 'vehicle', house: 'home', quickly: 'rapidly',
  fast: 'quick', happy: 'glad', sad: 'unhappy', people: 'folks', walking: 'strolling', running: 'jogging',
  street: 'road', road: 'street', looking: 'gazing', talking: 'chatting',
  begins: 'starts', starts: 'begins', buy: 'purchase', help: 'assist', shows: 'displays', near: 'close to',
};

const ANTONYMS: Record<string, string> = {
  man: 'woman', woman: 'man', men: 'women', women: 'men', boy: 'girl', girl: 'boy', big: 'small', small: 'big',
  up: 'down', down: 'up', inside: 'outside', outside: 'inside', day: 'night', night: 'day', happy: 'sad', sad: 'happy',
  young: 'old', old: 'young', open: 'closed', closed: 'open', sitting: 'standing', standing: 'sitting',
  running: 'sleeping', sleeping: 'running', always: 'never', never: 'always', many: 'few', few: 'many',
  increase: 'decrease', decrease: 'increase', before: 'after', after: 'before', wins: 'loses', loses: 'wins',
};

const AUXILIARIES = new Set(['is', 'are', 'was', 'were', 'can', 'will', 'has', 'have', 'does', 'do', 'should', 'could']);

const UNRELATED = [
  'The committee postponed the budget vote until next spring.',
  'Fresh basil grows best in a sunny window.',
  'The train to the coast leaves every two hours.',
  'Volcanic soil is unusually rich in minerals.',
  'She repaired the old bicycle with spare parts.',
  'Quarterly earnings beat the analysts\u2019 expectations.',
  'The museum opened a new wing for modern sculpture.',
  'Heavy snow closed the mountain pass overnight.',
];

const TOPIC_SENTENCES = [
  'A group of volunteers cleaned the riverbank on Saturday morning.',
  'The new library offers free coding classes for teenagers.',
  'Rising fuel prices have changed how families plan their holidays.',
  'The striker scored twice in the final ten minutes of the match.',
  'Researchers found that short walks improve afternoon concentration.',
  'The bakery on the corner sells bread made with local grain.',
  'A sudden storm delayed dozens of flights at the regional airport.',
  'The orchestra rehearsed the symphony for the opening night.',
  'Farmers are testing drought-resistant varieties of wheat.',
  'The city council approved a plan to widen the cycle lanes.',
  'Her first novel tells the story of three sisters in a fishing town.',
  'The startup raised funding to build cheaper solar batteries.',
];

function words(sentence: string): string[] {
  return sentence.split(/\s+/).filter((w) => w !== '');
}

function mapWords(sentence: string, table: Record<string, string>): { text: string; changed: boolean } {
  let changed = false;
  const out = words(sentence).map((token) => {
    const match = /^([^A-Za-z]*)([A-Za-z]+)([^A-Za-z]*)$/.exec(token);
    if (match === null) return token;
    const [, pre, word, post] = match as unknown as [string, string, string, string];
    const replacement = table[word.toLowerCase()];
    if (replacement === undefined) return token;
    changed = true;
    const cased = word[0] === word[0]!.toUpperCase() ? replacement[0]!.toUpperCase() + replacement.slice(1) : replacement;
    return pre + cased + post;
  });
  return { text: out.join(' '), changed };
}

function lowerFirst(text: string): string {
  return text.length > 0 ? text[0]!.toLowerCase() + text.slice(1) : text;
}

function stripFinalDot(text: string): string {
  return text.replace(/[.!?]+$/, '');
}

export function paraphraseOf(sentence: string): string {
  const { text, changed } = mapWords(sentence, SYNONYMS);
  if (changed) return text;
  const templates = [
    (s: string) => `In other words, ${lowerFirst(s)}`,
    (s: string) => `Put simply, ${lowerFirst(s)}`,
    (s: string) => `${stripFinalDot(s)}, as it happens.`,
    (s: string) => `It is the case that ${lowerFirst(s)}`,
  ];
  return pick(templates, sentence)(sentence);
}

export function contradictionOf(sentence: string): string {
  const { text, changed } = mapWords(sentence, ANTONYMS);
  if (changed) return text;
  const tokens = words(sentence);
  const aux = tokens.findIndex((t) => AUXILIARIES.has(t.toLowerCase()));
  if (aux >= 0) return [...tokens.slice(0, aux + 1), 'not', ...tokens.slice(aux + 1)].join(' ');
  return `It is not true that ${lowerFirst(sentence)}`;
}

function similarityScore(a: string, b: string): string {
  const fold = (s: string) => new Set(s.toLowerCase().replace(/[^a-z0-9\s]/g, '').split(/\s+/).filter(Boolean));
  const wa = fold(a);
  const wb = fold(b);
  const shared = [...wa].filter((w) => wb.has(w)).length;
  const union = new Set([...wa, ...wb]).size;
  const jaccard = union === 0 ? 0 : shared / union;
  const jitter = ((hashNumber(a + '\u0000' + b) % 5) - 2) / 10;
  const score = Math.min(5, Math.max(0, Math.round((jaccard * 5 + jitter) * 10) / 10));
  return score.toFixed(1);
}

/** The sentence the request asks about: a labelled or quoted part of the last user turn, else its last line. */
function inputSentence(lastUser: string): string {
  const labelled = /(?:^|\n)\s*(?:input|sentence|premise|text)(?: sentence)?\s*:\s*([^\n]+?)\s*$/i.exec(lastUser);
  if (labelled !== null) return unquote(labelled[1]!);
  // MultiCSR: ... with 'sentence':
  const singleQuoted = /'([^\n]{3,})':\s*$/.exec(lastUser);
  if (singleQuoted !== null) return singleQuoted[1]!;
  const quoted = /"([^"\n]{3,})"[^"]*$/.exec(lastUser);
  if (quoted !== null) return quoted[1]!;
  const lines = lastUser.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? '';
}

function unquote(text: string): string {
  return text.replace(/^"(.*)"$/s, '$1').replace(/^'(.*)'$/s, '$1');
}

const NEGATIVE_TASK = /contradict|opposite|opposing|contrasting|hard negative|different meaning|negat|swapping, changing|alternate meaning/i;
const POSITIVE_TASK = /paraphras|rewrite|rephrase|same meaning|entail|alternative expression|also true|preserving its (?:original )?meaning/i;

const SAMPLE_PREFIXES = ['', 'Actually, ', 'Indeed, ', 'Basically, ', 'Honestly, ', 'Clearly, '];

/** Later samples of the same request get a different (still deterministic) wording. */
function varied(text: string, variant: number): string {
  if (variant === 0) return text;
  return SAMPLE_PREFIXES[variant % SAMPLE_PREFIXES.length]! + lowerFirst(text) + (variant >= SAMPLE_PREFIXES.length ? ` (${variant})` : '');
}

export const defaultResponder: MockResponder = (request) => {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const instruction = [request.system ?? '', ...request.messages.map((m) => m.content)].join('\n');
  const seed = instruction;

  const scoring = /Scoring the semantic similarity.*between 0\.0 and 5\.0/is.exec(lastUser) ?? /Scoring the semantic similarity/i.exec(instruction);
  if (scoring !== null) {
    const pair = /\(a\)\s*(.+?)\s*\(b\)\s*(.+)$/is.exec(lastUser);
    return pair === null ? pick(['3.8', '4.2', '2.5', '1.0'], seed) : similarityScore(pair[1]!, pair[2]!);
  }

  const dino = /Task: Write two sentences that (.+?)\.?\s*\n.*Sentence 1:\s*"(.*?)"\s*\n?\s*Sentence 2:\s*"\s*$/is.exec(lastUser);
  if (dino !== null) {
    const task = dino[1]!.toLowerCase();
    const x1 = dino[2]!;
    const x2Base = task.includes('mean the same')
      ? paraphraseOf(x1)
      : task.includes('somewhat similar')
        ? `${stripFinalDot(words(x1).slice(0, Math.max(3, Math.ceil(words(x1).length / 2))).join(' '))} ${pick(['in a different place.', 'for another reason.', 'last year.'], x1)}`
        : pick(UNRELATED, x1 + String(request.variant));
    const x2 = varied(x2Base, request.variant);
    return `${x2}"\n\nTask: ${pick(['Write another pair.', 'Done.'], x1)}`;
  }

  // DINO x1: the prompt ends inside `Sentence 1: "`; the answer closes the quote, as DINO expects.
  if (/Task: Write two sentences that .+\nSentence 1:\s*"\s*$/is.test(lastUser)) {
    return `${varied(pick(TOPIC_SENTENCES, seed), request.variant)}"\nSentence 2: "`;
  }

  const list = /(?:generate|write|produce|create|list)\b[^\n]*?\b(\d{1,3})\s+(?:[\w-]+\s+){0,4}sentences/i.exec(instruction);
  if (list !== null) {
    const count = Math.min(200, Number(list[1]));
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const base = TOPIC_SENTENCES[(hashNumber(seed) + i + request.variant * 5) % TOPIC_SENTENCES.length]!;
      lines.push(`${i + 1}. ${i < TOPIC_SENTENCES.length ? base : paraphraseOf(base)}`);
    }
    return lines.join('\n');
  }

  // The instruction is in the system prompt or the final user turn; few-shot turns must not change the task.
  const task = `${request.system ?? ''}\n${lastUser}`;
  const input = inputSentence(lastUser);
  if (NEGATIVE_TASK.test(task)) return varied(contradictionOf(input), request.variant);
  if (POSITIVE_TASK.test(task)) return varied(paraphraseOf(input), request.variant);
  return `Echo: ${lastUser.replace(/\s+/g, ' ').trim()}`;
};
