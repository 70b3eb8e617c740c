// Linux network namespaces for partition tests. A namespace gets two veth links to the host: one its
// processes reach Redis over (the one tests cut, heal or slow down) and one clients on the host
// reach them over, which nothing touches: cutting a single link would cut the test's own clients
// too, and the test could no longer see what they see during the cut.
//
// A namespace takes a slot; the slot fixes its names (stm<slot>, veths stm<slot>{r,c}{h,n}) and its
// addresses (a /29 of 10.213.0.0/16: the Redis link's /30 first, host side .1, namespace side .2,
// then the client link's, host side .5, namespace side .6). `ip netns add` fails for a name that
// exists, so two test processes never share a slot. Everything is deleted by remove() (the after()
// hook of helpers/partition.ts calls it) and on process exit or SIGINT/SIGTERM; namespaces of test
// processes that died without cleaning up (SIGKILL) are swept by the next createNetns().
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SLOTS = 8192;
const OWNERS = join(tmpdir(), 'stompede-netns');

function findBinary(name: string): string | undefined {
  const dirs = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', ...(process.env['PATH'] ?? '').split(':').filter((d) => d.length > 0)];
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

export const IP = process.env['STOMPEDE_TEST_IP'] ?? findBinary('ip') ?? 'ip';
export const TC = process.env['STOMPEDE_TEST_TC'] ?? findBinary('tc') ?? 'tc';

function run(bin: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Runs a command to completion synchronously; the error message carries its stderr. */
function runSync(bin: string, args: readonly string[]): string {
  try {
    return execFileSync(bin, args, { timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`${bin} ${args.join(' ')}: ${e.stderr?.toString().trim() || e.message}`);
  }
}

function trySync(bin: string, args: readonly string[]): void {
  try {
    runSync(bin, args);
  } catch {
    // Cleanup of something that may be gone already.
  }
}

let unavailable: string | undefined | null = null;

/**
 * Why namespaces cannot be used here (not root, no iproute2, `ip netns add` or veth pairs refused),
 * or undefined when they can. Probed once per process, with a namespace and a veth pair made and
 * deleted at once.
 */
export function netnsUnavailable(): string | undefined {
  if (unavailable !== null) return unavailable;
  unavailable = probe();
  return unavailable;
}

function probe(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add, veth pairs)';
  try {
    runSync(IP, ['-V']);
  } catch {
    return `${IP} (iproute2) not found: apt-get install iproute2`;
  }
  // At most 14 characters with its suffixes: interface names have 15.
  const name = `stmprobe${process.pid % 100000}`;
  try {
    runSync(IP, ['netns', 'add', name]);
  } catch (err) {
    return `ip netns add is refused here: ${(err as Error).message}`;
  }
  try {
    runSync(IP, ['link', 'add', `${name}h`, 'type', 'veth', 'peer', 'name', `${name}n`, 'netns', name]);
    return undefined;
  } catch (err) {
    return `veth pairs are refused here: ${(err as Error).message}`;
  } finally {
    trySync(IP, ['link', 'del', `${name}h`]);
    trySync(IP, ['netns', 'del', name]);
  }
}

export interface NetnsLink {
  /** The veth end on the host. */
  readonly hostIf: string;
  /** The veth end inside the namespace. */
  readonly nsIf: string;
  readonly hostAddress: string;
  readonly nsAddress: string;
}

export interface Netns {
  readonly name: string;
  /** The link processes in the namespace reach Redis over (host side: hostAddress). */
  readonly redisLink: NetnsLink;
  /** The link clients on the host reach processes in the namespace over (at nsAddress). */
  readonly clientLink: NetnsLink;
  /** `ip netns exec <name> <command> <args>` as a command and its arguments, for spawn(). */
  command(command: string, args: readonly string[]): [string, string[]];
  /** Cuts the Redis link (its host end goes down): packets in either direction are dropped, no RST, no error. */
  cut(): Promise<void>;
  /** Brings the Redis link back up. */
  heal(): Promise<void>;
  /** Whether the Redis link is cut now. */
  isCut(): boolean;
  /**
   * Adds `tc netem <args>` (e.g. ['delay', '300ms']) to what leaves the host towards the namespace
   * over the Redis link, replacing any netem set before.
   */
  netem(args: readonly string[]): Promise<void>;
  /** Removes the netem of netem(). */
  clearNetem(): Promise<void>;
  /** Kills whatever still runs in the namespace and deletes it and its links. */
  remove(): Promise<void>;
}

/** Live namespaces of this process, deleted on exit. */
const live = new Set<string>();

function removeSync(name: string, slot: number): void {
  // Processes left inside (a broker whose test failed) would keep the namespace alive.
  let pids: string[] = [];
  try {
    pids = runSync(IP, ['netns', 'pids', name]).split('\n').filter((p) => /^\d+$/.test(p));
  } catch {
    // No such namespace any more.
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  for (const kind of ['r', 'c']) trySync(IP, ['link', 'del', `stm${slot}${kind}h`]);
  trySync(IP, ['netns', 'del', name]);
  rmSync(join(OWNERS, name), { force: true });
  live.delete(name);
}

let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  const cleanup = (): void => {
    for (const name of [...live]) removeSync(name, Number(name.slice(3)));
  };
  process.once('exit', cleanup);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      cleanup();
      // The default action, now that this listener is gone: the process ends as it would have.
      process.kill(process.pid, signal);
    });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes the namespaces whose test process died without cleaning up (SIGKILL, a crash). */
function sweepStale(): void {
  for (const name of readdirSync(OWNERS)) {
    if (!/^stm\d+$/.test(name)) continue;
    let owner = 0;
    try {
      owner = Number(readFileSync(join(OWNERS, name), 'utf8'));
    } catch {
      continue; // Removed meanwhile by its owner.
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) removeSync(name, Number(name.slice(3)));
  }
}

function slotAddresses(slot: number): { redis: [string, string]; client: [string, string]; inUse: (addrs: string) => boolean } {
  const third = slot >> 5;
  const base = (slot & 31) * 8;
  const at = (k: number): string => `10.213.${third}.${base + k}`;
  return {
    redis: [at(1), at(2)],
    client: [at(5), at(6)],
    inUse: (addrs) => [...addrs.matchAll(/inet (10\.213\.(\d+)\.(\d+))\//g)].some((m) => Number(m[2]) === third && Number(m[3]) >= base && Number(m[3]) < base + 8),
  };
}

/** Creates a namespace with its two links up and loopback up; remove() deletes it. */
export async function createNetns(): Promise<Netns> {
  const reason = netnsUnavailable();
  if (reason !== undefined) throw new Error(reason);
  hookExit();
  mkdirSync(OWNERS, { recursive: true });
  sweepStale();
  const first = (process.pid % 2048) * 4;
  for (let k = 0; k < SLOTS; k++) {
    const slot = (first + k) % SLOTS;
    const name = `stm${slot}`;
    const addrs = slotAddresses(slot);
    if (addrs.inUse(await run(IP, ['-o', '-4', 'addr', 'show']))) continue;
    try {
      await run(IP, ['netns', 'add', name]);
    } catch {
      continue; // Taken, by another test process or something else.
    }
    live.add(name);
    writeFileSync(join(OWNERS, name), String(process.pid));
    try {
      return await setUp(name, slot, addrs);
    } catch (err) {
      removeSync(name, slot);
      throw err;
    }
  }
  throw new Error('no free network namespace slot (10.213.0.0/16 is in use)');
}

async function setUp(name: string, slot: number, addrs: ReturnType<typeof slotAddresses>): Promise<Netns> {
  const link = (kind: 'r' | 'c', [hostAddress, nsAddress]: [string, string]): NetnsLink => ({
    hostIf: `stm${slot}${kind}h`,
    nsIf: `stm${slot}${kind}n`,
    hostAddress,
    nsAddress,
  });
  const redisLink = link('r', addrs.redis);
  const clientLink = link('c', addrs.client);
  for (const l of [redisLink, clientLink]) {
    await run(IP, ['link', 'add', l.hostIf, 'type', 'veth', 'peer', 'name', l.nsIf, 'netns', name]);
    await run(IP, ['addr', 'add', `${l.hostAddress}/30`, 'dev', l.hostIf]);
    await run(IP, ['link', 'set', l.hostIf, 'up']);
    await run(IP, ['-n', name, 'addr', 'add', `${l.nsAddress}/30`, 'dev', l.nsIf]);
    await run(IP, ['-n', name, 'link', 'set', l.nsIf, 'up']);
  }
  await run(IP, ['-n', name, 'link', 'set', 'lo', 'up']);
  let cut = false;
  return {
    name,
    redisLink,
    clientLink,
    command: (command, args) => [IP, ['netns', 'exec', name, command, ...args]],
    async cut() {
      await run(IP, ['link', 'set', redisLink.hostIf, 'down']);
      cut = true;
    },
    async heal() {
      await run(IP, ['link', 'set', redisLink.hostIf, 'up']);
      cut = false;
    },
    isCut: () => cut,
    async netem(args) {
      await run(TC, ['qdisc', 'replace', 'dev', redisLink.hostIf, 'root', 'netem', ...args]);
    },
    async clearNetem() {
      await run(TC, ['qdisc', 'del', 'dev', redisLink.hostIf, 'root']);
    },
    async remove() {
      removeSync(name, slot);
    },
  };
}

let netemReason: string | undefined | null = null;

/**
 * Why `tc netem` cannot be used here (no tc, or no sch_netem in the kernel), or undefined when it
 * can. Probed once per process on a veth pair made for the purpose.
 */
export function netemUnavailable(): string | undefined {
  if (netemReason !== null) return netemReason;
  netemReason = netnsUnavailable();
  if (netemReason !== undefined) return netemReason;
  const host = `stmnetem${process.pid % 10000}`;
  try {
    runSync(IP, ['link', 'add', host, 'type', 'veth', 'peer', 'name', `${host}p`]);
    runSync(TC, ['qdisc', 'add', 'dev', host, 'root', 'netem', 'delay', '1ms']);
    netemReason = undefined;
  } catch (err) {
    netemReason = `tc netem is not available here: ${(err as Error).message}`;
  } finally {
    trySync(IP, ['link', 'del', host]);
  }
  return netemReason;
}
