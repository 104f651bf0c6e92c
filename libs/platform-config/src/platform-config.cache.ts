import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** One published version of the platform configuration, as config.v1.ConfigSnapshot carries it. */
export interface PlatformConfigSnapshot {
  /** Monotonically increasing at config-api; a larger version is newer. */
  version: number;
  /** The `settings_json` exactly as received; validated again whenever it is read. */
  settingsJson: string;
  /** When config-api published it, in unix seconds. */
  updatedAt: number;
}

/** The cache file's format; a file of another format is ignored, never guessed at. */
const CACHE_FORMAT = 'obip.platform-config.v1';

/**
 * Reads the snapshot a previous run cached. Undefined when there is no file; throws when the file
 * exists but is not a snapshot this code wrote (the caller logs it and carries on without it).
 * The settings inside are not validated here: the caller validates every snapshot the same way,
 * whichever way it arrived.
 *
 * @example
 * const cached = await readCachedSnapshot('/var/cache/obip/platform-config.json');
 */
export async function readCachedSnapshot(file: string): Promise<PlatformConfigSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const record = JSON.parse(text) as Record<string, unknown> | null;
  if (
    typeof record !== 'object' ||
    record === null ||
    record.format !== CACHE_FORMAT ||
    !Number.isSafeInteger(record.version) ||
    (record.version as number) < 1 ||
    typeof record.settingsJson !== 'string' ||
    !Number.isSafeInteger(record.updatedAt)
  ) {
    throw new Error(`${file} is not a platform config cache file (${CACHE_FORMAT})`);
  }
  return {
    version: record.version as number,
    settingsJson: record.settingsJson,
    updatedAt: record.updatedAt as number,
  };
}

/**
 * Writes the snapshot atomically: to a temporary file in the same directory, flushed, then
 * renamed over the cache file. A reader (this process after a restart, or another replica sharing
 * the volume) sees the old file or the new one, never a torn write.
 *
 * @example
 * await writeCachedSnapshot('/var/cache/obip/platform-config.json', { version: 7, settingsJson, updatedAt });
 */
export async function writeCachedSnapshot(file: string, snapshot: PlatformConfigSnapshot): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const record = { format: CACHE_FORMAT, ...snapshot };
  try {
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(record));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
