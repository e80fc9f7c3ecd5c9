/** What route plugins receive: the services, the config and the caller resolvers. */
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { type Caller, requireCaller } from '../http/auth.js';
import type { AuthService } from '../services/auth-service.js';
import type { Clock } from '../services/context.js';
import type { MessageService } from '../services/message-service.js';
import type { MessageChangeService } from '../services/message-change-service.js';
import type { PushService } from '../push/push-service.js';
import type { ReadStateService } from '../services/read-state.js';
import type { RoomService } from '../services/room-service.js';
import type { SearchService } from '../services/search-service.js';
import type { UserService } from '../services/user-service.js';
import type { WebhookService } from '../webhooks/webhook-service.js';

export interface Services {
  auth: AuthService;
  users: UserService;
  rooms: RoomService;
  messages: MessageService;
  messageChanges: MessageChangeService;
  readState: ReadStateService;
  search: SearchService;
  webhooks: WebhookService;
  push: PushService;
}

export interface RouteContext {
  config: Config;
  clock: Clock;
  services: Services;
  caller(req: FastifyRequest): Promise<Caller>;
}

export function makeRouteContext(config: Config, clock: Clock, services: Services): RouteContext {
  return { config, clock, services, caller: (req) => requireCaller(req, services.auth, config) };
}
