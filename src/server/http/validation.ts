/**
 * Request validation. Bodies are validated strictly (no type coercion, unknown fields refused);
 * query strings and path parameters are coerced (`?limit=5`). Errors become one sentence that
 * names the field and says what to fix.
 */
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ErrorObject, ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler, FastifyServerOptions } from 'fastify';
import type { DeferredCompiles } from './deferred-compiles.js';

// Ajv is loaded with the first validator compiled (the first request with a body or parameters), not at start-up.
// The bundle of the built server leaves it out (scripts/build-server.mjs): it comes from node_modules.
const load = createRequire(import.meta.url);

function makeAjv(coerce: boolean): AjvClass {
  const ajvModule = load('ajv') as typeof import('ajv');
  const addFormatsModule = load('ajv-formats') as typeof import('ajv-formats');
  const Ajv = ajvModule.default ?? ajvModule;
  const addFormats = addFormatsModule.default ?? addFormatsModule;
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

let bodyAjv: AjvClass | undefined;
let queryAjv: AjvClass | undefined;

/**
 * A validator compiled on its first call, or ahead of it by `deferred` (DeferredCompiles), not when
 * the route is added: loading Ajv and compiling every route's schemas (and, before the first, Ajv's
 * meta-schema, once per instance) was about a tenth of the cold start (issue 7).
 */
function compileOnFirstUse(compile: () => ValidateFunction, deferred?: DeferredCompiles): ValidateFunction {
  let compiled: ValidateFunction | undefined;
  const ahead = () => {
    compiled ??= compile();
  };
  deferred?.defer(ahead);
  const real = (): ValidateFunction => {
    if (compiled) return compiled;
    deferred?.done(ahead);
    return (compiled = compile());
  };
  const validate = function (this: unknown, ...args: Parameters<ValidateFunction>) {
    const fn = real();
    try {
      return fn.apply(this, args);
    } finally {
      validate.errors = fn.errors;
    }
  } as ValidateFunction;
  // Fastify passes the request as parent data (so Ajv may replace a coerced root value) when this is set.
  Object.defineProperty(validate, 'schemaEnv', { get: () => real().schemaEnv });
  return validate;
}

/** Our validator compiler; with `deferred`, its compilations can also be run ahead of first use. */
export const lazyValidatorCompiler =
  (deferred?: DeferredCompiles): FastifySchemaCompiler<unknown> =>
  ({ schema, httpPart }) =>
    compileOnFirstUse(
      () => (httpPart === 'body' ? (bodyAjv ??= makeAjv(false)).compile(schema as object) : (queryAjv ??= makeAjv(true)).compile(schema as object)),
      deferred,
    ) as ReturnType<FastifySchemaCompiler<unknown>>;

export const validatorCompiler = lazyValidatorCompiler();

export type ValidatorFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator'] & {};

/**
 * For Fastify's `schemaController.compilersFactory.buildValidator` option: every route gets
 * `validatorCompiler`, as with `setValidatorCompiler`. (The option's type is @fastify/ajv-compiler's
 * own factory; Fastify calls the compiler it returns as a FastifySchemaCompiler, as here.)
 */
export const buildValidator = (deferred?: DeferredCompiles): ValidatorFactory => (() => lazyValidatorCompiler(deferred)) as unknown as ValidatorFactory;

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
