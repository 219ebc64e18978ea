/** Keeps secrets out of logs, errors and the store. */

const KEY_PATTERNS = [/sk-ant-[A-Za-z0-9_-]{8,}/g, /\bsk-[A-Za-z0-9_-]{16,}/g];

export function makeRedactor(secrets: readonly (string | undefined)[]): (text: string) => string {
  const known = secrets.filter((s): s is string => s !== undefined && s.length >= 4);
  return (text) => {
    let out = text;
    for (const secret of known) out = out.split(secret).join('[redacted]');
    for (const pattern of KEY_PATTERNS) out = out.replace(pattern, '[redacted]');
    return out;
  };
}
