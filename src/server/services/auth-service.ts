/** First-run setup, sign-in, sessions and sign-out. Session tokens are stored only as sha256 hashes. */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { AppError } from '../errors.js';
import type { UserRecord } from '../store/types.js';
import type { ServiceContext } from './context.js';
import { dummyPasswordHash, hashPassword, verifyPassword } from './passwords.js';
import { type NewUserInput, normalizeNewUser } from './user-service.js';

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

export const hashSessionToken = (token: string): string => createHash('sha256').update(token).digest('base64url');

export interface SessionGrant {
  token: string;
  user: UserRecord;
  expiresAt: number;
}

export class AuthService {
  constructor(private readonly ctx: ServiceContext) {}

  async needsSetup(): Promise<boolean> {
    return (await this.ctx.store.countUsers()) === 0;
  }

  /** Creates the first system administrator; refused once any user exists. */
  async setup(input: NewUserInput): Promise<SessionGrant> {
    const fields = normalizeNewUser(input);
    if (!(await this.needsSetup())) throw setupDone();
    const user: UserRecord = {
      id: randomUUID(),
      ...fields,
      passwordHash: await hashPassword(input.password),
      isSystemAdmin: true,
      createdAt: this.ctx.clock.now(),
    };
    const created = await this.ctx.store.createFirstUser(user);
    if (!created) throw setupDone();
    return this.startSession(created);
  }

  async login(email: string, password: string): Promise<SessionGrant> {
    const user = await this.ctx.store.getUserByEmail(email.trim().toLowerCase());
    // Verify against a dummy hash for unknown emails so timing does not reveal which emails exist.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !ok) throw new AppError('Unauthorized', 'Email or password is wrong; check both and try again.');
    return this.startSession(user);
  }

  private async startSession(user: UserRecord): Promise<SessionGrant> {
    const token = randomBytes(32).toString('base64url');
    const now = this.ctx.clock.now();
    const expiresAt = now + SESSION_TTL_MS;
    await this.ctx.store.createSession({ tokenHash: hashSessionToken(token), userId: user.id, createdAt: now, expiresAt });
    return { token, user, expiresAt };
  }

  /** The user of a session token, or null. */
  async authenticate(token: string): Promise<UserRecord | null> {
    if (token.length < 20 || token.length > 200) return null;
    return this.ctx.store.getSessionUser(hashSessionToken(token), this.ctx.clock.now());
  }

  async logout(token: string): Promise<void> {
    const sessionId = hashSessionToken(token);
    await this.ctx.store.deleteSession(sessionId);
    // Open streams of this session stop too, on every node: signing out ends live delivery at once.
    this.ctx.events.publish({ type: 'session.ended', sessionId });
  }
}

const setupDone = () =>
  new AppError('SetupAlreadyDone', 'This server is already set up; sign in instead, or ask a system administrator for an account.');
