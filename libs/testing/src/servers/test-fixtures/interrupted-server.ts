// Run by server.process.test.ts: starts a throwaway Redis, prints its pid and log file, and waits
// for SIGINT. With `handles-signal`, it stops Redis itself on SIGINT, as the sandbox does.
import { startRedisServer } from '../redis.server';

const redis = await startRedisServer();
const pid = Number(/pid=(\d+)/.exec(redis.logs())?.[1] ?? 0);
if (process.argv.includes('handles-signal')) {
  process.on('SIGINT', () => {
    void redis.stop().then(() => process.exit(0));
  });
}
process.stdout.write(`${JSON.stringify({ pid, logFile: redis.logFile })}\n`);
setInterval(() => undefined, 1000);
