/** Commands added by other parts of Carillon (webhooks, the post client, backup), listed in --help. */
import { backupCommand } from './backup.js';
import type { CliExtension } from './common.js';
import { webhookCommands } from './webhook-commands.js';

export const cliExtensions: CliExtension[] = [...webhookCommands, backupCommand];
