/**
 * Before the first paid call of a run, one cheap request checks that the endpoint answers and accepts the key, so a
 * wrong URL or key stops the run within seconds with both named, instead of failing every item after retries.
 */
import { LlmEndpointError } from './types.js';

export interface EndpointProbe {
  /** A GET that needs the key and costs nothing (the model list). */
  url: string;
  headers: Record<string, string>;
  /** Where the URL comes from, for the fix ("llm.base_url", "ANTHROPIC_BASE_URL"). */
  urlSetting: string;
  /** Where the key comes from ("ANTHROPIC_API_KEY"), or undefined when none is sent. */
  keySetting: string | undefined;
}

const PROBE_TIMEOUT_MS = 10_000;

/** Resolves when the endpoint is reachable and does not reject the key; otherwise throws an LlmEndpointError. */
export async function checkEndpoint(probe: EndpointProbe, redact: (text: string) => string, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  let response: Response;
  try {
    response = await fetch(probe.url, { headers: probe.headers, signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
  } catch (error) {
    const err = error as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new LlmEndpointError(
      `Cannot reach the LLM endpoint ${origin(probe.url)} (${redact(why)}); nothing was sent or paid.`,
      `Start the server or correct ${probe.urlSetting}, then run the same command again.`,
    );
  }
  if (response.status === 401 || response.status === 403) {
    throw new LlmEndpointError(
      `The LLM endpoint ${origin(probe.url)} rejected the key (HTTP ${response.status}); nothing was sent or paid.`,
      probe.keySetting === undefined ? 'The server wants a key: set llm.api_key_env to the name of the environment variable holding it.' : `Set ${probe.keySetting} to a valid key, then run the same command again.`,
    );
  }
}

function origin(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname.replace(/\/(v1\/)?models$/, '').replace(/\/$/, '')}`;
}
