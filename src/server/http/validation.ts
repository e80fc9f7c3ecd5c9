/**
 * Request validation. Bodies are validated strictly (no type coercion, unknown fields refused);
 * query strings and path parameters are coerced (`?limit=5`). Errors become one sentence that
 * names the field and says what to fix.
 */
import AjvModule, { type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

const Ajv = AjvModule.default ?? AjvModule;
const addFormats = addFormatsModule.default ?? addFormatsModule;

function makeAjv(coerce: boolean) {
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes: coerce,
    useDefaults: true,
    removeAdditional: false,
    verbose: true,
    strict: false,
  });
  addFormats(ajv, ['email', 'uuid', 'date-time', 'uri']);
  return ajv;
}

const bodyAjv = makeAjv(false);
const queryAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;

function fieldName(e: ErrorObject, part: string): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    return path ? `${path}.${missing}` : missing;
  }
  return path || part;
}

/** One sentence per validation error, naming the field and what to fix. */
export function describeValidationError(e: ErrorObject, part: string): string {
  const field = fieldName(e, part);
  const hint = (e.parentSchema as { description?: string } | undefined)?.description;
  switch (e.keyword) {
    case 'required':
      return `${part} is missing the required field '${field}'.`;
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      return `${part} has an unknown field '${extra}'; the allowed fields are: ${allowed.join(', ') || 'none'}.`;
    }
    case 'type':
      return `Field '${field}' must be of type ${(e.params as { type: string }).type}.`;
    case 'minLength':
      return `Field '${field}' must be at least ${(e.params as { limit: number }).limit} characters long.`;
    case 'maxLength':
      return `Field '${field}' must be at most ${(e.params as { limit: number }).limit} characters long.`;
    case 'format':
      return (e.params as { format: string }).format === 'email'
        ? `Field '${field}' must be a valid email address, like mary@example.com.`
        : `Field '${field}' must be a valid ${(e.params as { format: string }).format}.`;
    case 'pattern':
      return `Field '${field}' ${hint ?? `must match ${(e.params as { pattern: string }).pattern}`}.`;
    case 'enum':
      return `Field '${field}' must be one of: ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).join(', ')}.`;
    case 'minimum':
    case 'maximum':
      return `Field '${field}' must be ${e.keyword === 'minimum' ? 'at least' : 'at most'} ${(e.params as { limit: number }).limit}.`;
    case 'anyOf':
    case 'oneOf':
      return `${part} ${hint ?? 'does not match any allowed shape'}.`;
    default:
      return `Field '${field}' ${e.message ?? 'is invalid'}.`;
  }
}
