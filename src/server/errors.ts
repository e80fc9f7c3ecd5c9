/**
 * One error type for everything a caller can be told (STYLE 2). Services and the webhook
 * endpoint throw AppError with a code from src/shared/error-codes.ts; only the HTTP edge
 * (http-errors.ts) turns it into a status and a {Code, Message} body.
 */
import { ERROR_STATUS, type ErrorCode } from '../shared/error-codes.js';

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
