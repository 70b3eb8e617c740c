// The image's runtime filesystem, made without Docker by following deploy/docker/Dockerfile: each
// stage but `build` gets a directory, its COPY steps are carried out (from the build context through
// .dockerignore, or from an earlier stage), and its RUN commands run there (the deps stage's
// `npm ci --omit=dev`). The `build` stage is this checkout after `npm run build`: the test checks
// that it copies the context to the same relative paths, so its outputs are the repository's.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import type { Ignore } from '@balena/dockerignore';
import { readDockerfile, REPO, stageNamed, type CopyStep, type Stage } from './dockerfile.js';

export const BUILD_STAGE = 'build';
export const RUNTIME_STAGE = 'runtime';

// Docker's own .dockerignore matcher (the one testcontainers uses). A CommonJS module whose types
// declare an ES default export it does not have: require it.
const ignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

export function dockerignore(): (relativePath: string) => boolean {
  const rules = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n');
  const matcher = ignore().add(rules);
  return (path) => matcher.ignores(path);
}

export interface StagedImage {
  readonly stage: Stage;
  /** Host directory holding the runtime stage's "/". */
  readonly root: string;
  /** The host path of a path in the image. */
  host(imagePath: string): string;
  /** The image's ENV with PATH pointing into the staged tree (and at this machine's node). */
  env(): Record<string, string>;
  /** ENTRYPOINT + CMD, with `node` as this machine's node. */
  command(): string[];
  cleanup(): void;
}

/** Where a path of the build stage is in this checkout (the build stage copies the context as is). */
export function buildStagePath(stages: readonly Stage[], imagePath: string): string {
  const { workdir } = stageNamed(stages, BUILD_STAGE);
  const rel = posix.relative(workdir, imagePath);
  if (rel.startsWith('..') || posix.isAbsolute(rel)) throw new Error(`${imagePath} is outside the build stage's ${workdir}`);
  return join(REPO, rel);
}

/** Stages every stage after `build` into a temp directory; RUN commands run with `runEnv` added. */
export function stageImage(runEnv: Record<string, string> = {}): StagedImage {
  const stages = readDockerfile();
  const ignored = dockerignore();
  const dir = mkdtempSync(join(tmpdir(), 'stompede-image-'));
  const roots = new Map<string, string>();
  try {
    for (const stage of stages) {
      if (stage.name === BUILD_STAGE) continue;
      const root = join(dir, stage.name);
      mkdirSync(join(root, stage.workdir), { recursive: true });
      roots.set(stage.name, root);
      for (const step of stage.copies) copy(step, stages, roots, root, ignored);
      for (const command of stage.runs) {
        execFileSync('/bin/sh', ['-c', command], { cwd: join(root, stage.workdir), env: { ...process.env, ...runEnv }, stdio: 'pipe' });
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const stage = stageNamed(stages, RUNTIME_STAGE);
  const root = roots.get(RUNTIME_STAGE)!;
  const host = (imagePath: string): string => join(root, posix.resolve(stage.workdir, imagePath));
  return {
    stage,
    root,
    host,
    env() {
      const path = (stage.env['PATH'] ?? '').split(':').filter((p) => existsSync(host(p))).map(host);
      return { ...stage.env, PATH: [...path, dirname(process.execPath), '/usr/bin', '/bin'].join(':') };
    },
    command() {
      const argv = [...(stage.entrypoint ?? []), ...(stage.cmd ?? [])];
      return argv.map((a, i) => (i === 0 && a === 'node' ? process.execPath : a));
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function copy(step: CopyStep, stages: readonly Stage[], roots: Map<string, string>, root: string, ignored: (p: string) => boolean): void {
  for (const source of step.sources) {
    const from = sourcePath(step, source, stages, roots);
    if (!existsSync(from)) throw new Error(`line ${step.line}: COPY ${step.from ? `--from=${step.from} ` : ''}${source}: ${from} does not exist`);
    const isDir = lstatSync(from).isDirectory();
    const target = join(root, isDir || !step.dest.endsWith('/') ? step.dest : posix.join(step.dest, posix.basename(source)));
    mkdirSync(isDir ? target : dirname(target), { recursive: true });
    if (step.from !== undefined) {
      cpSync(from, target, { recursive: true, verbatimSymlinks: true });
      continue;
    }
    const rel = posix.normalize(source).replace(/\/$/, '');
    if (ignored(rel)) throw new Error(`line ${step.line}: COPY ${source}: .dockerignore leaves it out of the build context`);
    if (!isDir) cpSync(from, target);
    else copyContext(from, target, rel, ignored);
  }
}

/** A directory of the build context, less what .dockerignore leaves out. */
function copyContext(from: string, to: string, rel: string, ignored: (p: string) => boolean): void {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const entryRel = `${rel}/${entry.name}`;
    if (ignored(entryRel)) continue;
    if (entry.isDirectory()) {
      mkdirSync(join(to, entry.name), { recursive: true });
      copyContext(join(from, entry.name), join(to, entry.name), entryRel, ignored);
    } else {
      cpSync(join(from, entry.name), join(to, entry.name), { verbatimSymlinks: true });
    }
  }
}

function sourcePath(step: CopyStep, source: string, stages: readonly Stage[], roots: Map<string, string>): string {
  if (step.from === undefined) return join(REPO, source);
  if (step.from === BUILD_STAGE) return buildStagePath(stages, source);
  const root = roots.get(step.from);
  if (root === undefined) throw new Error(`line ${step.line}: COPY --from=${step.from}: no earlier stage of that name`);
  return join(root, source);
}
