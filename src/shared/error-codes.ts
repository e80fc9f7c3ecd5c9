/**
 * Every error code the HTTP API and the webhook endpoint can answer, with its status.
 * The codes are the contract (SPEC 2.3, 6); only the HTTP edge turns them into statuses
 * (src/server/http/error-handler.ts, httpStatusOf).
 */
export const ERROR_STATUS = {
  // Webhook endpoint (SPEC 2.3)
  InvalidWebhook: 403,
  WebhookNotFound: 404,
  MethodNotAllowed: 405,
  Throttled: 429,
  PayloadTooLarge: 413,
  InvalidPayload: 400,
  TooManyMembers: 400,
  /** @All / @Present from a webhook whose settings do not allow them (issue 15). */
  BroadcastNotAllowed: 400,
  ServiceUnavailable: 503,
  // Management API (SPEC 2.5, 6)
  WebhookLimitExceeded: 409,
  InvalidRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  SetupAlreadyDone: 409,
  UnsupportedMediaType: 415,
  // A plain HTTP request to the WebSocket stream.
  UpgradeRequired: 426,
  // Answered by the HTTP parser's clientError handler (src/server/http/client-error.ts), before routing.
  RequestTimeout: 408,
  HeadersTooLarge: 431,
  InternalError: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The body of every error response. */
export interface ErrorBody {
  Code: ErrorCode;
  Message: string;
}
