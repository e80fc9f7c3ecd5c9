/** Commands added by other parts of Carillon (webhooks, the post client, backup), listed in --help. */
import type { Config } from '../server/config.js';
import { backupCommand } from './backup.js';
import { webhookCommands } from './webhook-commands.js';

export interface CliExtension {
  /** The command words, e.g. "webhook create" or "post". */
  words: string;
  usage: string;
  summary: string;
  run(config: Config, args: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number>;
}

export const cliExtensions: CliExtension[] = [...webhookCommands, backupCommand];
