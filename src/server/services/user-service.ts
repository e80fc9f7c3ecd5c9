/** Accounts, managed by system administrators (SPEC 1, 6). */
import { randomUUID } from 'node:crypto';
import { RESERVED_ALIASES } from '../../shared/limits.js';
import { AppError } from '../errors.js';
import { StoreConflictError, type UserRecord } from '../store/types.js';
import { requireSystemAdmin } from './access.js';
import type { ServiceContext } from './context.js';
import { hashPassword } from './passwords.js';

export interface NewUserInput {
  email: string;
  alias: string;
  displayName: string;
  password: string;
}

/** Normalizes and checks what the request schema cannot: case, trimming, reserved aliases. */
export function normalizeNewUser(input: NewUserInput): { email: string; alias: string; displayName: string } {
  const alias = input.alias.trim();
  if (RESERVED_ALIASES.has(alias.toLowerCase())) {
    throw new AppError('InvalidRequest', `alias "${alias}" is reserved (@All and @Present are broadcast mentions); choose another alias.`);
  }
  const displayName = input.displayName.trim();
  if (displayName === '') throw new AppError('InvalidRequest', 'displayName must not be blank; give the name people see.');
  return { email: input.email.trim().toLowerCase(), alias, displayName };
}

export function conflictToAppError(e: unknown): unknown {
  if (e instanceof StoreConflictError) {
    if (e.field === 'email') return new AppError('Conflict', 'email is already used by another account; use a different email.');
    if (e.field === 'alias') return new AppError('Conflict', 'alias is already taken; choose a different alias.');
  }
  return e;
}

export class UserService {
  constructor(private readonly ctx: ServiceContext) {}

  async create(actor: UserRecord, input: NewUserInput & { isSystemAdmin?: boolean }): Promise<UserRecord> {
    requireSystemAdmin(actor, 'create users');
    return this.createUnchecked(input);
  }

  /** For the CLI, which runs with the server's own authority. */
  async createUnchecked(input: NewUserInput & { isSystemAdmin?: boolean }): Promise<UserRecord> {
    const fields = normalizeNewUser(input);
    const user: UserRecord = {
      id: randomUUID(),
      ...fields,
      passwordHash: await hashPassword(input.password),
      isSystemAdmin: input.isSystemAdmin ?? false,
      createdAt: this.ctx.clock.now(),
    };
    try {
      return await this.ctx.store.createUser(user);
    } catch (e) {
      throw conflictToAppError(e);
    }
  }

  async list(actor: UserRecord): Promise<UserRecord[]> {
    requireSystemAdmin(actor, 'list users');
    return this.ctx.store.listUsers();
  }
}
