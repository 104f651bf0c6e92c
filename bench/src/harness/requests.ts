// What the requests of one load run look like, for both load children (autocannon at peak, the
// paced generator at a rate): fixed bodies cycled through, or bodies generated in the load
// child before the load starts and each sent once (signed client assertions, whose `jti` the
// server refuses to see twice), or none (GET).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './processes';

/**
 * Bodies made in the load child, before its clock starts, so the load generator never measures
 * its own signing: `module` (repository-relative) exports `exportName(argument, count)`.
 */
export interface GeneratedBodies {
  module: string;
  exportName: string;
  /** JSON passed to the generator (keys, client id, audience…). */
  argument: unknown;
  /** How many; the harness sets it from the run's rate and length (see bodiesNeeded). */
  count: number;
}

/** A body generator, as a module named in GeneratedBodies exports it. */
export type BodyGenerator = (argument: never, count: number) => string[] | Promise<string[]>;

export interface RequestSpec {
  /** Default POST. */
  method?: 'GET' | 'POST';
  headers: Record<string, string>;
  /** Fixed bodies (e.g. one per pre-issued token); autocannon cycles through them on every connection. */
  bodies?: string[];
  /** Bodies each sent at most once over all connections. */
  generated?: GeneratedBodies;
  /** Response bodies must start with this; others are counted as mismatches. */
  expectBodyPrefix?: string;
}

/** Margin over the expected number of requests when bodies are generated: runs vary, and signing is cheap. */
const BODY_MARGIN = 2;

/** How many generated bodies a run of `seconds` at up to `rate` requests per second needs. */
export function bodiesNeeded(rate: number, seconds: number): number {
  return Math.ceil(rate * seconds * BODY_MARGIN) + 1000;
}

/** The same spec with its generated bodies sized for `count` requests; fixed bodies are left alone. */
export function withBodyCount(spec: RequestSpec, count: number): RequestSpec {
  return spec.generated ? { ...spec, generated: { ...spec.generated, count } } : spec;
}

/** A stretch of time on the monotonic clock, in µs, comparable across processes (Linux CLOCK_MONOTONIC). */
export interface MonotonicWindow {
  fromMicros: number;
  toMicros: number;
}

/** Now on the monotonic clock, in µs (the clock V8's CPU profiles use). */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/** Where a load child takes the body of each request from. */
export interface BodySource {
  /** Fixed bodies cycle per connection (autocannon) and do not need a shared cursor. */
  readonly kind: 'none' | 'fixed' | 'generated';
  readonly bodies: readonly string[];
  /** The next body in a sequence shared by every connection. */
  take(): string | undefined;
  /** Bodies that had to be sent a second time because the generated ones ran out. */
  reused(): number;
}

/** Loads (or generates) the bodies of a spec; run in the load child before the load starts. */
export async function prepareBodies(spec: RequestSpec): Promise<BodySource> {
  let bodies: string[] = spec.bodies ?? [];
  let kind: BodySource['kind'] = bodies.length > 0 ? 'fixed' : 'none';
  if (spec.generated) {
    const { module, exportName, argument, count } = spec.generated;
    const loaded = (await import(pathToFileURL(resolve(repoRoot, module)).href)) as Record<string, BodyGenerator>;
    const generate = loaded[exportName];
    if (typeof generate !== 'function') throw new TypeError(`${module} exports no function ${exportName}`);
    bodies = await generate(argument as never, count);
    kind = 'generated';
  }
  let next = 0;
  return {
    kind,
    bodies,
    take() {
      if (bodies.length === 0) return undefined;
      return bodies[next++ % bodies.length];
    },
    reused: () => (kind === 'generated' ? Math.max(0, next - bodies.length) : 0),
  };
}
