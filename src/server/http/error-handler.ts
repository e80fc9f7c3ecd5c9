/**
 * The one place errors become responses: AppError → its status and {Code, Message}; framework
 * and store errors → the matching code; anything unexpected → logged with the request id and
 * answered with a generic 500. The code → status table (shared/error-codes.ts) is applied here
 * only (httpStatusOf), and so is Retry-After (errorHeaders, from the error's retryAfterS): the
 * webhook endpoint, the stream's upgrade and the parser's client errors answer through these too.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorBody, type ErrorCode, ERROR_STATUS } from '../../shared/error-codes.js';
import { AppError } from '../errors.js';
import { StoreConflictError, StoreUnavailableError } from '../store/types.js';
import { describeValidationError } from './validation.js';

export const RETRY_AFTER_UNAVAILABLE_S = 5;

/** Maps any thrown value to the AppError the caller should see (or null for a 500). */
export function toAppError(err: unknown): AppError | null {
  if (err instanceof AppError) return err;
  if (err instanceof StoreUnavailableError) {
    return new AppError('ServiceUnavailable', 'The database is unavailable right now; retry after the time in Retry-After.', {
      retryAfterS: RETRY_AFTER_UNAVAILABLE_S,
    });
  }
  if (err instanceof StoreConflictError) return new AppError('Conflict', `That ${err.field} is already in use; choose another.`);
  const fe = err as FastifyError & { validationContext?: string };
  if (fe?.validation && fe.validation.length > 0) {
    // Errors from inside an anyOf branch are less useful than the anyOf's own summary.
    const errs = fe.validation as unknown as { schemaPath?: string }[];
    const best = errs.find((e) => !/\/(anyOf|oneOf)\//.test(e.schemaPath ?? '')) ?? errs[0];
    return new AppError('InvalidRequest', describeValidationError(best as never, fe.validationContext ?? 'body'));
  }
  switch (fe?.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('InvalidRequest', 'The request body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('InvalidRequest', `The request body is not valid JSON (${fe.message.replace(/^.*?:\s*/, '')}); send a JSON object.`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('UnsupportedMediaType', 'Send the body as JSON with Content-Type: application/json.');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PayloadTooLarge', 'The request body is too large; send a smaller body.');
  }
  if (err instanceof SyntaxError || fe?.statusCode === 400) {
    return new AppError('InvalidRequest', `The request is malformed (${fe.message}); send a JSON object.`);
  }
  if (fe?.statusCode === 404) return new AppError('NotFound', 'Nothing here; check the path.');
  if (fe?.statusCode === 415) return new AppError('UnsupportedMediaType', 'Send the body as JSON with Content-Type: application/json.');
  if (fe?.statusCode === 413) return new AppError('PayloadTooLarge', 'The request body is too large; send a smaller body.');
  return null;
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { Code: code, Message: message };
}

/** The HTTP status of an error code: the one place the table in shared/error-codes.ts is applied. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}

/** The response headers of an error: Retry-After from its retryAfterS, then its own headers. */
export function errorHeaders(e: AppError): Record<string, string> {
  const { retryAfterS, headers } = e.details;
  return { ...(retryAfterS !== undefined ? { 'retry-after': String(retryAfterS) } : {}), ...headers };
}

/** Answers an AppError as JSON {Code, Message} with its status and headers. */
export function sendAppError(reply: FastifyReply, e: AppError): FastifyReply {
  return reply.code(httpStatusOf(e.code)).headers(errorHeaders(e)).type('application/json').send(errorBody(e.code, e.message));
}

export function handleError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const app = toAppError(err);
  if (app) {
    if (httpStatusOf(app.code) >= 500) req.log.warn({ err, code: app.code }, 'request failed: service unavailable');
    return sendAppError(reply, app);
  }
  req.log.error({ err }, 'unexpected error');
  return sendAppError(reply, new AppError('InternalError', `Something went wrong on the server (request id ${req.id}); try again, and report this id if it keeps happening.`));
}
