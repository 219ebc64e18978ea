/** The Redis that the coordinator (`run --redis URL`) and `synthcse worker` processes share. */
import type { ConnectionOptions } from 'bullmq';

/** redis://[user:password@]host:port[/db] as the connection options BullMQ passes to ioredis. */
export function redisConnection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--redis must be a URL like redis://127.0.0.1:6379, not "${url}".`);
  }
  if (parsed.protocol !== 'redis:') throw new Error(`--redis must be a redis:// URL, not "${url}".`);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    db,
    maxRetriesPerRequest: null,
  };
}
