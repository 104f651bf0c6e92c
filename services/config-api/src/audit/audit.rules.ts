/** One changed field: where, and its value before and after (redacted when secret). */
export interface FieldChange {
  path: string;
  before?: unknown;
  after?: unknown;
}

export const REDACTED = '[redacted]';

// JWK private members (RFC 7517 §9.3 / RFC 7518 §6.2.2, §6.3.2, §6.4.1) and names that say secret.
const SECRET_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']);
// Names that end in a secret noun (`clientSecret`, `registration_access_token`), not `accessTokenSeconds`.
const SECRET_NAME = /(secret|password|passphrase|credentials?|token|private_?key|sealed)$/i;

function isSecretKey(key: string): boolean {
  return SECRET_MEMBERS.has(key) || SECRET_NAME.test(key);
}

/**
 * A copy of `value` with every secret-looking member replaced by `[redacted]`, so an audit entry
 * can show what changed without ever storing a secret.
 */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => [key, isSecretKey(key) ? REDACTED : redact(member)]),
    );
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The leaf-level differences between two JSON-like values, as dotted paths. Arrays compare as a
 * whole (an algorithm list that changed order is one change). Secrets show as `[redacted]`.
 *
 * @example
 * diff({ lifetimes: { idTokenSeconds: 300 } }, { lifetimes: { idTokenSeconds: 600 } });
 * // [{ path: 'lifetimes.idTokenSeconds', before: 300, after: 600 }]
 */
export function diff(before: unknown, after: unknown): FieldChange[] {
  const changes: FieldChange[] = [];
  walk(before, after, '', false, changes);
  return changes;
}

// Compares the real values, so a changed secret is still recorded as changed, but only ever
// writes redacted ones.
function walk(before: unknown, after: unknown, path: string, secret: boolean, changes: FieldChange[]): void {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) {
      walk(before[key], after[key], path ? `${path}.${key}` : key, secret || isSecretKey(key), changes);
    }
    return;
  }
  if (sameValue(before, after)) return;
  const shown = (value: unknown) => (secret ? REDACTED : redact(value));
  const change: FieldChange = { path: path || '.' };
  if (before !== undefined) change.before = shown(before);
  if (after !== undefined) change.after = shown(after);
  changes.push(change);
}
