/** The HTTP providers as a run's LLM service and a `synthcse worker` both build them, from settings already resolved. */
import { AnthropicProvider } from './anthropic.js';
import { OpenAiCompatibleProvider } from './openai-compatible.js';

export interface HttpProviderSettings {
  provider: 'anthropic' | 'openai-compatible';
  baseUrl: string | undefined;
  apiKey: string | undefined;
  /** The environment variable the key came from, for messages. */
  apiKeyEnv: string | undefined;
  /** Anthropic only: ANTHROPIC_AUTH_TOKEN, the API version, and where the base URL came from (for messages). */
  authToken?: string | undefined;
  apiVersion?: string | undefined;
  baseUrlSetting?: string;
}

/** `missingBaseUrl` is the caller's error for an openai-compatible provider without a base URL (it names the fix). */
export function httpProvider(s: HttpProviderSettings, missingBaseUrl: () => Error): AnthropicProvider | OpenAiCompatibleProvider {
  if (s.provider === 'anthropic') {
    return new AnthropicProvider({
      apiKey: s.apiKey,
      authToken: s.authToken,
      baseUrl: s.baseUrl,
      apiVersion: s.apiVersion,
      ...(s.baseUrlSetting === undefined ? {} : { baseUrlSetting: s.baseUrlSetting }),
      apiKeyEnv: s.apiKeyEnv,
    });
  }
  if (s.baseUrl === undefined) throw missingBaseUrl();
  return new OpenAiCompatibleProvider({ baseUrl: s.baseUrl, apiKey: s.apiKey, apiKeyEnv: s.apiKeyEnv });
}
