#!/usr/bin/env node
/**
 * `carillon`: the server and its admin commands (SPEC 8). Thin: it parses arguments and calls the
 * same services the HTTP API uses, on the store the configuration names.
 */
import { parseArgs } from 'node:util';
import { ConfigError, type Config, loadConfig, optionsHelp } from '../server/config.js';
import { AppError } from '../server/errors.js';
import { SERVER_ACTOR } from '../server/services/access.js';
import { cliExtensions } from './extensions.js';
import { type CliIo, UsageError, resolveRoom, withServices } from './common.js';

const MAIN_HELP = `Usage: carillon [command] [options]

Commands:
  serve                               run the server (default)
  user create                         create a user account and print its id
  room create NAME --admin EMAIL      create a room administered by EMAIL and print its id
  room add-member ROOM EMAIL          add a user to a room
${cliExtensions.map((c) => `  ${c.usage.padEnd(36)}${c.summary}`).join('\n')}

Run "carillon COMMAND --help" for a command's options.

Server options (also as environment variables):
${optionsHelp()}
`;

async function userCreate(config: Config, args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string' },
      alias: { type: 'string' },
      'display-name': { type: 'string' },
      password: { type: 'string' },
      'system-admin': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    io.out(`Usage: carillon user create --email EMAIL --alias ALIAS --display-name NAME [--password PASSWORD] [--system-admin]

Creates a user account and prints its id alone on standard output, so that
USER_ID=$(carillon user create …) works; a description of the account goes to standard error.
The password may instead be given in CARILLON_PASSWORD (keeps it out of the shell history and
the process list).
`);
    return;
  }
  const password = values.password ?? process.env.CARILLON_PASSWORD;
  const missing = [
    !values.email && '--email',
    !values.alias && '--alias',
    !values['display-name'] && '--display-name',
    !password && '--password (or CARILLON_PASSWORD)',
  ].filter(Boolean);
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')}; see carillon user create --help`);
  const { NewUserBody } = await import('../server/http/schemas.js');
  const input = { email: values.email!, alias: values.alias!, displayName: values['display-name']!, password: password! };
  const { validatorCompiler } = await import('../server/http/validation.js');
  const validate = validatorCompiler({ schema: NewUserBody, httpPart: 'body', method: 'POST', url: '' }) as unknown as ((v: unknown) => boolean) & { errors?: never[] };
  if (!validate(input)) {
    const { describeValidationError } = await import('../server/http/validation.js');
    throw new UsageError(describeValidationError(validate.errors![0]!, 'user'));
  }
  const user = await withServices(config, (s) => s.users.createUnchecked({ ...input, isSystemAdmin: values['system-admin'] }));
  io.err(`created user ${user.alias} <${user.email}>${user.isSystemAdmin ? ' (system administrator)' : ''}\n`);
  io.out(`${user.id}\n`);
}

async function roomCreate(config: Config, args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { admin: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) {
    io.out(`Usage: carillon room create NAME --admin EMAIL

Creates a room; the user with EMAIL becomes its administrator. Prints the room id alone on
standard output, so that ROOM=$(carillon room create …) works; a description goes to standard
error.
`);
    return;
  }
  if (positionals.length !== 1 || !values.admin) throw new UsageError('usage: carillon room create NAME --admin EMAIL');
  const room = await withServices(config, async (s) => {
    const admin = await s.store.getUserByEmail(values.admin!.trim().toLowerCase());
    if (!admin) throw new UsageError(`no user with email ${values.admin}; create it first with carillon user create`);
    return s.rooms.create(admin, positionals[0]!);
  });
  io.err(`created room "${room.name}" administered by ${values.admin!.trim().toLowerCase()}\n`);
  io.out(`${room.id}\n`);
}

async function roomAddMember(config: Config, args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { role: { type: 'string', default: 'member' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help) {
    io.out(`Usage: carillon room add-member ROOM EMAIL [--role member|administrator]

Adds the user with EMAIL to ROOM (a room id, or a unique room name), as a member unless --role
says administrator. Prints one line saying what it did.
`);
    return;
  }
  if (positionals.length !== 2) throw new UsageError('usage: carillon room add-member ROOM EMAIL [--role member|administrator]');
  if (values.role !== 'member' && values.role !== 'administrator') throw new UsageError('--role must be member or administrator');
  const role = values.role;
  const member = await withServices(config, async (s) => {
    const roomId = await resolveRoom(s.store, positionals[0]!);
    return s.rooms.addMember(SERVER_ACTOR, roomId, { email: positionals[1]!, role });
  });
  io.out(`added ${member.user.email} as ${member.role}\n`);
}

export async function runCli(argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let config: Config;
  let rest: string[];
  try {
    ({ config, rest } = loadConfig(env, argv));
  } catch (e) {
    if (e instanceof ConfigError) {
      io.err(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const [first, second, ...tail] = rest;
  try {
    if (first === undefined || first === 'serve') {
      if (second === '--help' || second === '-h') {
        io.out(`Usage: carillon serve [options]\n\nRuns the server.\n\nOptions (also as environment variables):\n${optionsHelp()}\n`);
        return 0;
      }
      if (second !== undefined) throw new UsageError(`unknown option ${second}; see carillon serve --help`);
      // Loaded only to serve: the admin commands and --help do without the HTTP server's modules.
      const { serve } = await import('../server/main.js');
      await serve(config);
      return -1; // keeps running
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      io.out(MAIN_HELP);
      return 0;
    }
    const words = `${first} ${second ?? ''}`.trim();
    const args = tail;
    if (words === 'user create') await userCreate(config, args, io);
    else if (words === 'room create') await roomCreate(config, args, io);
    else if (words === 'room add-member') await roomAddMember(config, args, io);
    else {
      const ext = cliExtensions.find((c) => c.words === words || c.words === first);
      if (!ext) throw new UsageError(`unknown command "${words}"; see carillon --help`);
      // One-word commands ("post") take the second word as their first argument.
      return await ext.run(config, ext.words === first ? (second === undefined ? tail : [second, ...tail]) : args, io);
    }
    return 0;
  } catch (e) {
    // A configuration only found wrong on use (DATA_DIR that cannot be created): what to fix, no stack.
    if (e instanceof ConfigError) {
      io.err(`carillon: ${e.message}\n`);
      return 1;
    }
    if (e instanceof UsageError || e instanceof AppError) {
      io.err(`carillon: ${e.message}\n`);
      return 2;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`carillon: ${(e as Error).message}\n`);
      return 2;
    }
    io.err(`carillon: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

const io: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
runCli(process.argv.slice(2), process.env, io).then((code) => {
  if (code >= 0) process.exitCode = code;
});
