import { z } from 'zod';

/** A settings schema: environment variable name → zod schema (with `.describe()` text). */
export type SettingsShape = Record<string, z.ZodType>;

export interface SettingsIssue {
  variable: string;
  rule: string;
}

/** Raised when the environment does not satisfy a service's settings schema. */
export class SettingsError extends Error {
  readonly code = 'invalid_settings';
  readonly issues: readonly SettingsIssue[];

  constructor(service: string, issues: SettingsIssue[]) {
    super(`${service}: invalid settings\n` + issues.map((issue) => `  ${issue.variable}: ${issue.rule}`).join('\n'));
    this.name = 'SettingsError';
    this.issues = issues;
  }
}

/**
 * Parses the environment once against the service's schema. Keys are the environment variable
 * names themselves, so a setting is found by grepping for the variable an operator sets.
 * Variables that are set but empty count as unset, as in most container tooling.
 *
 * @example
 * const settings = loadSettings('dcr-service', { HTTP_PORT: setting.port(8082, 'HTTP listener') });
 */
export function loadSettings<S extends SettingsShape>(
  service: string,
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  const input: Record<string, string | undefined> = {};
  for (const variable of Object.keys(shape)) {
    const value = env[variable];
    input[variable] = value === '' ? undefined : value;
  }
  const result = z.object(shape).safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    variable: issue.path.map(String).join('.') || '(settings)',
    rule: describeIssue(issue, input),
  }));
  throw new SettingsError(service, issues);
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, string | undefined>): string {
  const variable = String(issue.path[0] ?? '');
  const received = input[variable];
  const got = received === undefined ? 'it is not set' : `got ${JSON.stringify(truncate(received))}`;
  return `${issue.message} (${got})`;
}

function truncate(value: string): string {
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
}

/**
 * Like loadSettings, but prints the problems and exits with status 78 (EX_CONFIG), so a
 * misconfigured pod fails fast with a message naming the variable instead of crash-looping
 * on a stack trace.
 */
export function loadSettingsOrExit<S extends SettingsShape>(
  service: string,
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<S>> {
  try {
    return loadSettings(service, shape, env);
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}

/** One line per variable with its description and default, for docs and `--help`. */
export function describeSettings(shape: SettingsShape): string[] {
  return Object.entries(shape).map(([variable, schema]) => {
    const parsed = schema.safeParse(undefined);
    const fallback = parsed.success && parsed.data !== undefined ? ` (default ${JSON.stringify(parsed.data)})` : '';
    return `${variable}: ${schema.description ?? 'no description'}${fallback}`;
  });
}
