/** Limits that are part of the contract (SPEC 1, 2.3, 2.5); shared by server and web client. */
export const LIMITS = Object.freeze({
  /** Content length in Unicode code points (Chime's "4 KB", counted as real clients pre-check it). */
  contentMaxCodePoints: 4096,
  /** Raw webhook request body cap; a larger body is refused without being read to the end. */
  webhookBodyMaxBytes: 64 * 1024,
  /** Webhooks per room (Chime: "up to 10 webhooks for each chat room"). */
  webhooksPerRoom: 10,
  /** @All / @Present are refused in rooms with more members than this (Chime's rule). */
  broadcastMentionMaxMembers: 50,
  webhookNameMaxChars: 64,
  roomNameMaxChars: 100,
  displayNameMaxChars: 100,
  aliasMaxChars: 32,
  emailMaxChars: 254,
  passwordMinChars: 8,
  passwordMaxChars: 1024,
  messagePageDefault: 50,
  messagePageMax: 100,
  /** Open streams per user on one server (tabs and devices); more is a runaway client. */
  streamsPerUser: 20,
  /**
   * Unread and mention counts stop here (the client shows "999+"): at most this many messages
   * after a member's read position are looked at, so a long-unread busy room costs bounded work.
   */
  unreadCountCap: 1000,
  /** Different emoji on one message (each with any number of users). */
  reactionsPerMessage: 20,
  /** Longest reaction: one emoji, possibly a ZWJ sequence with skin tone (bytes of UTF-8). */
  reactionMaxBytes: 64,
  /** Former versions kept per message (a webhook updating one alert by key for months keeps the last ones). */
  editHistoryMax: 50,
  /** A webhook post's Key (or X-Carillon-Key header), in characters. */
  webhookKeyMaxChars: 128,
  /** GET /api/v1/search: longest query (characters), and results per page. */
  searchQueryMaxChars: 256,
  searchPageDefault: 20,
  searchPageMax: 50,
  /** Idempotency-Key header of a webhook post (issue 15): 1 to this many printable ASCII characters. */
  idempotencyKeyMaxChars: 255,
  /** How long a webhook remembers an Idempotency-Key and the post it stored (issue 15). */
  idempotencyKeyTtlHours: 24,
  /** The longest overlap of a regenerated webhook's previous URL (keepOldUrlForHours, issue 15). */
  webhookKeepOldUrlMaxHours: 24,
  /** The slowest rate a webhook can be given (posts per second, issue 15): Retry-After stays under 100 s. */
  webhookMinRatePerSecond: 0.01,
});

/** Aliases that would collide with broadcast mentions. */
export const RESERVED_ALIASES: ReadonlySet<string> = new Set(['all', 'present']);

export const ALIAS_PATTERN = '^[a-z0-9._-]+$';

/**
 * ALIAS_PATTERN for an HTML `pattern` attribute, which browsers anchor themselves and compile with
 * the `v` flag: there a `-` in a class must be escaped (`[a-z0-9._-]` is a syntax error, the
 * browser logs it and checks nothing). Same set of aliases; also valid without `v` and under `u`.
 */
export const ALIAS_INPUT_PATTERN = '[a-z0-9._\\-]+';
