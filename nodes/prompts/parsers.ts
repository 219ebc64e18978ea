/**
 * Reply parsers. Each returns the parsed value or throws ParseFailure whose message is a short reason
 * ("max_tokens", "refused", "empty reply", "not a score: …"); nodes let it propagate from their mapItems `run`,
 * so the engine records it as the item's failure and counts it. Bump PARSER_VERSIONS when a parser changes
 * what it accepts: it is part of every item key that uses it.
 */
import type { LlmResponse } from '../../engine/llm/types.js';
import { matchesRefusal } from './refusals.js';

export const PARSER_VERSIONS = Object.freeze({
  sentence: 'sentence@1',
  dino: 'dino-quote@2',
  score: 'score-strict@1',
  list: 'sentence-list@1',
});

export class ParseFailure extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ParseFailure';
  }
}

function clip(text: string, n = 60): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, n - 1) + '…' : one;
}

/** Checks shared by every parser: the reply must have ended normally and hold text that is not a refusal. */
export function checkReply(response: Pick<LlmResponse, 'text' | 'stopReason'>): string {
  if (response.stopReason === 'max_tokens') throw new ParseFailure('max_tokens: reply was cut off');
  if (response.stopReason === 'refusal') throw new ParseFailure('refused');
  const text = response.text.trim();
  if (text === '') throw new ParseFailure('empty reply');
  if (matchesRefusal(text.slice(0, 200))) throw new ParseFailure(`refused: "${clip(text)}"`);
  return text;
}

const QUOTE_PAIRS: readonly [string, string][] = [
  ['"', '"'],
  ['\u201c', '\u201d'],
  ["'", "'"],
  ['\u2018', '\u2019'],
];

function stripQuotes(text: string): string {
  let s = text.trim();
  for (const [open, close] of QUOTE_PAIRS) {
    if (s.length >= 2 && s.startsWith(open) && s.endsWith(close)) {
      const inner = s.slice(open.length, s.length - close.length);
      // Only strip when the quotes wrap the whole reply, not when the sentence itself opens and closes a quotation.
      if (!inner.includes(close)) s = inner.trim();
    }
  }
  return s;
}

/**
 * One sentence written in reply to an instruction (SynCSE, MultiCSR). Accepts a bare sentence, optionally wrapped
 * in quotes or prefixed with a label such as "Output:" / "Paraphrase:"; rejects multi-line replies (explanations,
 * lists), which are not a single annotation.
 */
export function parseSentence(response: Pick<LlmResponse, 'text' | 'stopReason'>): string {
  const text = checkReply(response);
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length !== 1) throw new ParseFailure(`not one sentence: ${lines.length} lines`);
  let s = lines[0]!;
  s = s.replace(/^(output|answer|sentence|paraphrase|rewritten sentence|revised sentence|result|response)\s*:\s*/i, '');
  s = stripQuotes(s);
  if (s === '') throw new ParseFailure('empty reply');
  return s;
}

/** DINO's output filters (dino.py flags); both off by default, as in DINO, so such replies are dropped. */
export interface DinoOutputRules {
  /** --keep_outputs_without_eos: keep a reply that never closes the quote (DINO's end-of-sequence signal). */
  keepWithoutClosingQuote: boolean;
  /** --allow_newlines_in_outputs: keep a reply with a newline before the closing quote. */
  allowNewlines: boolean;
}

export const DINO_DEFAULT_RULES: DinoOutputRules = Object.freeze({ keepWithoutClosingQuote: false, allowNewlines: false });

/** The parser's identity in item keys: its version and the rules it applies. */
export function dinoParserKey(rules: DinoOutputRules): string {
  return `${PARSER_VERSIONS.dino}${rules.keepWithoutClosingQuote ? '+keep-unclosed' : ''}${rules.allowNewlines ? '+newlines' : ''}`;
}

/**
 * DINO continuation: the prompt ends inside `Sentence 2: "`, so the answer is the text up to the closing quote.
 * Chat models sometimes restate the label or reopen the quote; both are tolerated. As in DINO, a reply that never
 * closes the quote (and did not stop at the stop string '"') is dropped, and so is one with a newline before the quote, unless `rules` keep them.
 */
export function parseDinoContinuation(response: Pick<LlmResponse, 'text' | 'stopReason'>, label = 'Sentence 2', rules: DinoOutputRules = DINO_DEFAULT_RULES): string {
  const text = checkReply(response);
  let s = text.replace(new RegExp(`^${label}\\s*:\\s*`, 'i'), '');
  s = s.replace(/^["\u201c]/, '');
  const close = s.search(/["\u201d]/);
  if (close >= 0) s = s.slice(0, close);
  // A reply that ended at a stop string ended at the closing quote: DINO's requests on the local provider stop at
  // '"', and the text comes back cut before it (chat requests carry no stop strings).
  else if (!rules.keepWithoutClosingQuote && response.stopReason !== 'stop_sequence') throw new ParseFailure('no closing quote');
  if (s.includes('\n') && !rules.allowNewlines) throw new ParseFailure('newline before the closing quote');
  s = s.trim();
  if (s === '') throw new ParseFailure('empty sentence before the closing quote');
  return s;
}

/**
 * A similarity score: exactly one number between 0 and 5 with at most one decimal ("3", "4.5", "0.0"), optionally
 * followed by a period, nothing else. This is MultiCSR's acceptance rule (a one-character digit or an x.y string)
 * with the range enforced; anything wordier is unparseable and the item is dropped.
 */
export function parseScore(response: Pick<LlmResponse, 'text' | 'stopReason'>): number {
  const text = checkReply(response);
  const m = /^([0-5])(?:\.(\d))?\.?$/.exec(text);
  if (!m) throw new ParseFailure(`not a score: "${clip(text, 30)}"`);
  const value = Number(m[2] === undefined ? m[1] : `${m[1]}.${m[2]}`);
  if (value > 5) throw new ParseFailure(`score out of range: ${value}`);
  return value;
}

/**
 * Sentences from a list reply: numbered lines ("1. …", "2) …", "3: …"), else bulleted lines ("- …", "* …", "• …"),
 * else plain non-empty lines. Preambles ("Here are 20 sentences:") and a closing remark are dropped when the list
 * is numbered or bulleted; for a plain-line reply, lines ending with ':' are dropped.
 */
export function parseSentenceList(response: Pick<LlmResponse, 'text' | 'stopReason'>): string[] {
  const text = checkReply(response);
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const numbered = lines.map((l) => /^\(?\d{1,3}[.):]\s+(.*)$/.exec(l)?.[1]).filter((s): s is string => s !== undefined);
  const bulleted = lines.map((l) => /^[-*\u2022]\s+(.*)$/.exec(l)?.[1]).filter((s): s is string => s !== undefined);
  let items: string[];
  if (numbered.length > 0) items = numbered;
  else if (bulleted.length > 0) items = bulleted;
  else items = lines.filter((l) => !l.endsWith(':'));
  items = items.map((s) => stripQuotes(s.replace(/^\*\*(.*)\*\*$/, '$1'))).filter((s) => s !== '');
  if (items.length === 0) throw new ParseFailure('no sentences in the reply');
  return items;
}
