/**
 * Phrases that mark a refusal or a failed generation instead of a sentence. Used by the reply parsers (the item
 * fails with reason "refused") and by the `refusals` filter rule (on data loaded from elsewhere). Case-insensitive
 * substrings, matched against the start of the text or anywhere, as marked.
 */
export const defaultRefusalPatterns: readonly string[] = Object.freeze([
  "i cannot generate",
  "i can't generate",
  "i cannot create",
  "i can't create",
  "i cannot provide",
  "i can't provide",
  "i cannot help",
  "i can't help",
  "i cannot assist",
  "i can't assist",
  "i'm unable to",
  "i am unable to",
  "i'm not able to",
  "i am not able to",
  "i'm sorry",
  "i am sorry",
  "i apologize",
  "as an ai",
  "as a language model",
  "i won't be able",
  "sorry, but",
  "unfortunately, i",
  // SynCSE's own documented failure (its paper's Appendix): "I can not generate a paraphrased sentence because
  // the input is ambiguous", and its variants.
  "i could not generate",
  "unable to generate",
  "cannot generate a paraphrase",
  "cannot generate a contradict",
  "cannot be paraphrased",
  "the input is ambiguous",
  "the input sentence is ambiguous",
  "the given sentence is ambiguous",
  "the sentence is ambiguous",
]);

/** Lower case, straight apostrophes, and "can not" / "can't" / "couldn't" spelled one way, so one pattern covers all. */
function fold(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/\bcan\s+not\b|\bcan't\b/g, 'cannot')
    .replace(/\bcould\s+not\b|\bcouldn't\b/g, 'could not')
    .replace(/\s+/g, ' ');
}

export function matchesRefusal(text: string, patterns: readonly string[] = defaultRefusalPatterns): string | undefined {
  const folded = fold(text);
  return patterns.find((p) => folded.includes(fold(p)));
}
