import { z } from 'zod';

/**
 * Building blocks for settings schemas. Each takes its description first-class, because
 * every key must say what it does (STYLE habit 6).
 */
export const setting = {
  port(fallback: number, description: string) {
    return z.coerce
      .number({ message: 'must be a TCP port number' })
      .int('must be an integer')
      .min(0, 'must be between 0 and 65535')
      .max(65535, 'must be between 0 and 65535')
      .default(fallback)
      .describe(description);
  },

  integer(fallback: number, description: string, bounds: { min?: number; max?: number } = {}) {
    let schema = z.coerce.number({ message: 'must be a number' }).int('must be an integer');
    if (bounds.min !== undefined) schema = schema.min(bounds.min, `must be at least ${bounds.min}`);
    if (bounds.max !== undefined) schema = schema.max(bounds.max, `must be at most ${bounds.max}`);
    return schema.default(fallback).describe(description);
  },

  /** A duration in milliseconds. */
  durationMs(fallback: number, description: string, bounds: { min?: number; max?: number } = {}) {
    return setting.integer(fallback, `${description} (milliseconds)`, { min: 0, ...bounds });
  },

  string(fallback: string, description: string) {
    return z.string().min(1, 'must not be empty').default(fallback).describe(description);
  },

  /** A URL whose scheme is one of `protocols` (without the colon). */
  url(fallback: string | undefined, description: string, protocols: readonly string[]) {
    const schema = z.string().refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
        } catch {
          return false;
        }
      },
      `must be a URL with scheme ${protocols.join(' or ')}`,
    );
    return (fallback === undefined ? schema : schema.default(fallback)).describe(description);
  },

  oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number], description: string) {
    return z
      .enum(values, { message: `must be one of ${values.join(', ')}` })
      .default(fallback)
      .describe(description);
  },

  boolean(fallback: boolean, description: string) {
    return z
      .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
      .transform((value) => value === 'true' || value === '1')
      .default(fallback)
      .describe(description);
  },

  /** A comma-separated list of free-form values, e.g. audience identifiers. */
  list(fallback: readonly string[], description: string) {
    return z
      .string()
      .transform(splitList)
      .default([...fallback])
      .describe(`${description} (comma-separated)`);
  },

  /** A comma-separated list whose every entry is one of `values`. */
  listOf<const T extends readonly [string, ...string[]]>(
    values: T,
    fallback: readonly T[number][],
    description: string,
  ) {
    return z
      .string()
      .transform(splitList)
      .pipe(z.array(z.enum(values, { message: `each entry must be one of ${values.join(', ')}` })))
      .default([...fallback])
      .describe(`${description} (comma-separated; any of ${values.join(', ')})`);
  },

  /** A JSON value validated by `schema`; malformed JSON and schema failures name what is wrong. */
  json<T extends z.ZodType>(schema: T, fallback: z.input<T>, description: string) {
    return z
      .string()
      .transform((text, context) => {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          context.addIssue({ code: 'custom', message: 'must be valid JSON' });
          return z.NEVER;
        }
      })
      .pipe(schema)
      .default(schema.parse(fallback) as never)
      .describe(description);
  },

  host(fallback: string, description: string) {
    return z
      .string()
      .regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or IP address')
      .default(fallback)
      .describe(description);
  },
};

/** Splits a comma-separated setting, trimming entries and dropping empty ones. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
