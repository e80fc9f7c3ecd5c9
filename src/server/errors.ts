/**
 * One error type for everything a caller can be told (STYLE 2). Services and the webhook
 * endpoint throw AppError with a code from src/shared/error-codes.ts and, where it applies, how
 * long to wait (retryAfterS); only the HTTP edge (http/error-handler.ts) turns it into a status,
 * headers (Retry-After among them) and a {Code, Message} body.
 */
import type { ErrorCode } from '../shared/error-codes.js';

export interface AppErrorDetails {
  /** Whole seconds the caller should wait before trying again; the HTTP edge answers it as Retry-After. */
  retryAfterS?: number;
  /** Other response headers the answer needs: Allow on a 405, Connection: close, Upgrade on a 426. */
  headers?: Readonly<Record<string, string>>;
}

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: AppErrorDetails = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
