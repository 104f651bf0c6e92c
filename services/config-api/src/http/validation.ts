import type { z } from 'zod';
import { InvalidFieldsError } from '@obip/http';

/** RFC 6901: a zod issue path as a JSON pointer (`~` and `/` escaped). */
function pointerOf(path: readonly PropertyKey[]): string {
  return path.map((segment) => '/' + String(segment).replace(/~/g, '~0').replace(/\//g, '~1')).join('') || '/';
}

/**
 * Parses a request body with its schema, refusing it with 400 and one entry per invalid member
 * (`unrecognized_keys` included: the schemas are strict, unknown fields are refused).
 *
 * @example
 * const settings = parseBody(platformSettingsSchema, req.body, 'the settings are not valid');
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, description: string): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const fields = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ pointer: pointerOf([...issue.path, key]), detail: 'is not a known field' }))
      : [{ pointer: pointerOf(issue.path), detail: issue.message }],
  );
  throw new InvalidFieldsError(description, fields);
}
