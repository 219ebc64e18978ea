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
]);

export function matchesRefusal(text: string, patterns: readonly string[] = defaultRefusalPatterns): string | undefined {
  const folded = text.toLowerCase().replace(/[\u2018\u2019]/g, "'");
  return patterns.find((p) => folded.includes(p.toLowerCase()));
}
