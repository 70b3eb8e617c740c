// The users file as the broker holds it: read at start (a broken file stops the start), then
// polled every `reloadMs` and re-read when its inode, size or mtime changed. Polling stat() rather
// than fs.watch: it follows the symlink swaps of Kubernetes Secret and ConfigMap volumes and the
// rename of editors' atomic saves, which inotify watches lose. A file that no longer parses, or is
// gone, leaves the last good table in force, and the log says why.
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '@stompede/session';
import { parseUsersFile, UsersFileError, type UserEntry, type UserTable } from './users-file.js';

export class UsersStore {
  private table: UserTable;
  private stamp: string;
  private timer: ReturnType<typeof setInterval> | undefined;
  private checking = false;
  /** The last problem logged, so that a file that stays broken is reported once, not every poll. */
  private lastProblem = '';

  /** Reads the file now; throws UsersFileError (with the path) when it cannot be used. */
  constructor(
    readonly path: string,
    private readonly logger: Logger,
  ) {
    try {
      this.stamp = stampOf(statSync(path));
      this.table = parseUsersFile(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new UsersFileError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  get size(): number {
    return this.table.size;
  }

  get(login: string): UserEntry | undefined {
    return this.table.get(login);
  }

  /** Starts polling for changes. */
  watch(reloadMs: number): void {
    this.timer = setInterval(() => void this.check(), reloadMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** Re-reads the file if it changed since the last read; resolves when done. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const stamp = stampOf(await stat(this.path));
      if (stamp === this.stamp) return;
      // A version that does not parse is not read again until it changes.
      this.stamp = stamp;
      const table = parseUsersFile(await readFile(this.path, 'utf8'));
      this.table = table;
      this.lastProblem = '';
      this.logger.info({ usersFile: this.path, users: table.size }, 'users file reloaded');
    } catch (err) {
      this.keepLastGood(err);
    } finally {
      this.checking = false;
    }
  }

  private keepLastGood(err: unknown): void {
    const problem = err instanceof UsersFileError ? err.message : err instanceof Error ? err.message : String(err);
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    this.logger.error({ usersFile: this.path, problem, users: this.table.size }, 'users file not reloaded: keeping the last good version');
  }
}

function stampOf(s: { ino: number; size: number; mtimeMs: number }): string {
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}
