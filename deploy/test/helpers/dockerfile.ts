// deploy/docker/Dockerfile read with dockerfile-ast into its stages: for each, the base, the
// working directory, the COPY steps (with absolute destinations), RUN commands, ENV, USER,
// ENTRYPOINT, CMD and HEALTHCHECK. The image tests rebuild the runtime layout from this, so what
// they check is the file Docker would build, not a copy of it.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Copy, type Env, type Healthcheck, type Instruction, type JSONInstruction } from 'dockerfile-ast';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const DOCKERFILE = fileURLToPath(new URL('../../docker/Dockerfile', import.meta.url));

export interface CopyStep {
  /** The stage copied from, or undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  /** Absolute path in the stage's filesystem; ends with / when it names a directory. */
  readonly dest: string;
  readonly line: number;
}

export interface Stage {
  readonly name: string;
  readonly base: string;
  workdir: string;
  readonly copies: CopyStep[];
  readonly runs: string[];
  readonly env: Record<string, string>;
  user: string | undefined;
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
  healthcheck: { readonly command: string[]; readonly flags: Record<string, string> } | undefined;
  readonly labels: Record<string, string>;
}

export function readDockerfile(path = DOCKERFILE): Stage[] {
  const dockerfile = DockerfileParser.parse(readFileSync(path, 'utf8'));
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    if (keyword === 'ARG') continue;
    if (keyword === 'FROM') {
      stages.push(newStage(instruction));
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`${keyword} before FROM (line ${line(instruction)})`);
    apply(stage, keyword, instruction);
  }
  return stages;
}

function newStage(from: Instruction): Stage {
  const [base = '', as, name] = from.getArguments().map((a) => a.getValue());
  return {
    name: as?.toUpperCase() === 'AS' && name !== undefined ? name : base,
    base,
    workdir: '/',
    copies: [],
    runs: [],
    env: {},
    user: undefined,
    entrypoint: undefined,
    cmd: undefined,
    healthcheck: undefined,
    labels: {},
  };
}

function apply(stage: Stage, keyword: string, instruction: Instruction): void {
  switch (keyword) {
    case 'WORKDIR':
      stage.workdir = posix.resolve(stage.workdir, instruction.getArguments()[0]!.getValue());
      return;
    case 'COPY':
      stage.copies.push(copyStep(stage, instruction as Copy));
      return;
    case 'RUN':
      stage.runs.push(instruction.getArgumentsContent() ?? '');
      return;
    case 'ENV':
      for (const p of (instruction as Env).getProperties()) stage.env[p.getName()] = p.getUnescapedValue() ?? '';
      return;
    case 'LABEL':
      for (const p of (instruction as Env).getProperties()) stage.labels[p.getName()] = p.getUnescapedValue() ?? '';
      return;
    case 'USER':
      stage.user = instruction.getArguments()[0]?.getValue();
      return;
    case 'ENTRYPOINT':
      stage.entrypoint = execForm(instruction as JSONInstruction);
      return;
    case 'CMD':
      stage.cmd = execForm(instruction as JSONInstruction);
      return;
    case 'HEALTHCHECK':
      stage.healthcheck = healthcheck(instruction as Healthcheck);
      return;
    default:
  }
}

function copyStep(stage: Stage, copy: Copy): CopyStep {
  const args = copy.getArguments().map((a) => a.getValue());
  if (args.length < 2) throw new Error(`COPY needs a source and a destination (line ${line(copy)})`);
  const dest = args.at(-1)!;
  const absolute = posix.resolve(stage.workdir, dest) + (dest.endsWith('/') || dest === '.' ? '/' : '');
  return { from: copy.getFromFlag()?.getValue() ?? undefined, sources: args.slice(0, -1), dest: absolute.replace(/\/+$/, '/'), line: line(copy) };
}

/** Only the exec (JSON) form: the shell form would need /bin/sh as PID 1, which eats SIGTERM. */
function execForm(instruction: JSONInstruction): string[] {
  const strings = instruction.getJSONStrings().map((s) => s.getJSONValue());
  if (strings.length === 0) throw new Error(`${instruction.getKeyword()} must use the exec (JSON) form (line ${line(instruction)})`);
  return strings;
}

function healthcheck(instruction: Healthcheck): Stage['healthcheck'] {
  const flags = Object.fromEntries(instruction.getFlags().map((f) => [f.getName(), f.getValue() ?? '']));
  const args = instruction.getArguments().map((a) => a.getValue());
  if (args[0]?.toUpperCase() !== 'CMD') throw new Error(`HEALTHCHECK must be HEALTHCHECK [flags] CMD [...] (line ${line(instruction)})`);
  return { command: JSON.parse(args.slice(1).join(' ')) as string[], flags };
}

function line(instruction: Instruction): number {
  return instruction.getRange().start.line + 1;
}

export function stageNamed(stages: readonly Stage[], name: string): Stage {
  const stage = stages.find((s) => s.name === name);
  if (stage === undefined) throw new Error(`the Dockerfile has no stage ${name} (stages: ${stages.map((s) => s.name).join(', ')})`);
  return stage;
}
