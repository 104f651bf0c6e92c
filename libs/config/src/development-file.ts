import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Development material (keys a service generates when its settings name none), kept in
 * `dir/name` with mode 0600 so restarts and the replicas of a local twin share it. The file is
 * created with O_EXCL: when two processes start at once, the loser reads the winner's file.
 *
 * @example
 * const kek = await readOrCreateDevelopmentFile(settings.DEV_KEYS_DIR, 'config-api-kek', () => randomBytes(32).toString('base64url'));
 */
export async function readOrCreateDevelopmentFile(
  dir: string,
  name: string,
  create: () => string | Promise<string>,
): Promise<string> {
  const file = join(dir, name);
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const content = await create();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
    return content;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFileSync(file, 'utf8');
  }
}
