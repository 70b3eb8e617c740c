// `passwd`: sets a STOMP user's password (and groups) in a users file, the file a broker's users
// method reads (STOMPEDE_USERS_FILE) and reloads on change. No admin API involved: it edits a file.
// The password comes from stdin (its first line), typed at a hidden prompt when stdin is a terminal.
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_COST, hashPassword, nameProblem, setUserEntry, UsersFileError } from '@stompede/auth';
import { CliError, EXIT } from '../exit.js';
import { printText } from '../output.js';

interface PasswdOptions {
  readonly file: string;
  readonly login: string;
  readonly group?: string[];
  readonly cost: number;
}

export function registerPasswdCommand(program: Command): void {
  program
    .command('passwd')
    .description('set a STOMP user\'s password in a users file (STOMPEDE_USERS_FILE), reading it from stdin; creates the file if missing')
    .requiredOption('--file <path>', 'the users file')
    .requiredOption('--login <name>', 'the user\'s login')
    .option('--group <name>', 'a group of the user; repeat for several. Replaces its groups (kept when absent)', (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .addOption(new Option('--cost <ln>', 'scrypt cost, log2 of N (each +1 doubles the time and memory of every login)').argParser(parseCost).default(DEFAULT_COST.ln))
    .action((options: PasswdOptions) => setPassword(options));
}

function parseCost(text: string): number {
  const ln = Number(text);
  if (!/^\d+$/.test(text) || ln < 10 || ln > 20) throw new InvalidArgumentError('expected a whole number from 10 to 20.');
  return ln;
}

async function setPassword(options: PasswdOptions): Promise<void> {
  const problem = nameProblem(options.login) ?? options.group?.map(nameProblem).find((p) => p !== undefined);
  if (problem !== undefined) throw new CliError(`a login or group name ${problem}`, EXIT.usage);
  const password = await readPassword();
  if (password === '') throw new CliError('empty password (it is read from stdin: its first line)', EXIT.usage);
  const existing = await readExisting(options.file);
  const hash = await hashPassword(password, { ...DEFAULT_COST, ln: options.cost });
  let text: string;
  try {
    text = setUserEntry(existing?.text ?? '', options.login, hash, options.group);
  } catch (error) {
    if (error instanceof UsersFileError) throw new CliError(`${options.file}: ${error.message}; fix it first`, EXIT.failure);
    throw error;
  }
  // Written aside and renamed over: a broker reloading it never reads half a file.
  const temporary = `${options.file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: existing?.mode ?? 0o600 });
  await rename(temporary, options.file);
  printText(`${existing === undefined ? 'created' : 'updated'} ${options.file}: password of ${options.login} set`);
}

async function readExisting(file: string): Promise<{ text: string; mode: number } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    return { text, mode: info.mode & 0o777 };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`, EXIT.failure);
  }
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) return promptHidden('password: ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]!;
}

/** A prompt whose answer is not echoed: readline writes to a sink instead of the terminal. */
async function promptHidden(prompt: string): Promise<string> {
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: process.stdin, output: sink, terminal: true });
  process.stderr.write(prompt);
  try {
    return await rl.question('');
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}
