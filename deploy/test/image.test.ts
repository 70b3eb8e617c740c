// The container image (deploy/docker/Dockerfile), checked without a Docker engine: what it copies
// exists after `npm run build` and survives .dockerignore; .dockerignore keeps node_modules, tests
// and docs out; and a copy of the runtime layout, made by following the Dockerfile with production
// dependencies only, starts a node through the image's ENTRYPOINT that real clients use, passes the
// HEALTHCHECK, and drains through the Kubernetes preStop hook's own command.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DockerfileParser } from 'dockerfile-ast';
import { startBroker, TEST_ADMIN_TOKEN, type BrokerHandle } from '../../services/broker/test/helpers/broker-process.js';
import { bodyText, frame, RawClient } from '../../services/broker/test/helpers/raw-client.js';
import { connectStompjs, Inbox, subscribed } from '../../services/broker/test/helpers/stompjs.js';
import { DOCKERFILE, readDockerfile, REPO, stageNamed } from './helpers/dockerfile.js';
import { BUILD_STAGE, buildStagePath, dockerignore, RUNTIME_STAGE, stageImage, type StagedImage } from './helpers/image-layout.js';
import { brokerContainer, kubectlMissing, renderOverlay } from './helpers/k8s.js';

const stages = readDockerfile();
const runtime = stageNamed(stages, RUNTIME_STAGE);

before(() => {
  // `npm run build`: the build stage's outputs are this checkout's.
  execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-b'], { cwd: REPO, stdio: 'pipe' });
});

describe('the Dockerfile', () => {
  it('builds on Debian bookworm with Node 20 (glibc for uWebSockets.js), never Alpine', () => {
    const args = DockerfileParser.parse(readFileSync(DOCKERFILE, 'utf8')).getInitialARGs();
    const base = args.map((a) => a.getProperty()).find((p) => p?.getName() === 'NODE_IMAGE')?.getValue();
    assert.equal(base, 'node:20-bookworm-slim');
    for (const stage of stages) assert.equal(stage.base, '${NODE_IMAGE}', `stage ${stage.name}`);
  });

  it('copies only paths that exist after the build and that .dockerignore lets into the context', () => {
    const ignored = dockerignore();
    for (const stage of stages) {
      for (const step of stage.copies) {
        for (const source of step.sources) {
          const where = `line ${step.line}: COPY ${step.from ? `--from=${step.from} ` : ''}${source}`;
          if (step.from === undefined) {
            assert.ok(existsSync(join(REPO, source)), `${where}: not in the repository`);
            assert.equal(ignored(posix.normalize(source).replace(/\/$/, '')), false, `${where}: left out by .dockerignore`);
          } else if (step.from === BUILD_STAGE) {
            assert.ok(existsSync(buildStagePath(stages, source)), `${where}: not there after npm run build`);
          }
        }
      }
    }
  });

  it('copies every workspace: its package.json into the build and deps stages, its dist into the runtime', () => {
    const workspaces = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    for (const name of [BUILD_STAGE, 'deps']) {
      const stage = stageNamed(stages, name);
      for (const ws of workspaces) assert.ok(stage.copies.some((c) => c.from === undefined && c.sources.includes(`${ws}/package.json`)), `stage ${name} copies ${ws}/package.json`);
    }
    // What tsc compiles in the build stage must be in the context.
    const ignored = dockerignore();
    for (const ws of workspaces) {
      const include = (JSON.parse(readFileSync(join(REPO, ws, 'tsconfig.json'), 'utf8')) as { include: string[] }).include;
      for (const dir of include) assert.equal(ignored(`${ws}/${dir}`), false, `${ws}/${dir} (tsconfig include) is left out by .dockerignore`);
    }
    const buildDir = stageNamed(stages, BUILD_STAGE).workdir;
    for (const ws of workspaces) {
      assert.ok(runtime.copies.some((c) => c.from === BUILD_STAGE && c.sources.some((s) => s.replace(/\/$/, '') === `${buildDir}/${ws}/dist`)), `the runtime copies ${ws}/dist`);
    }
  });

  it('has the build stage copy the context to the same relative paths (so the checkout stands for it)', () => {
    const build = stageNamed(stages, BUILD_STAGE);
    for (const step of build.copies) {
      for (const source of step.sources) {
        const isDir = source.endsWith('/');
        const landed = isDir ? step.dest : posix.join(step.dest, posix.basename(source));
        assert.equal(landed.replace(/\/$/, ''), posix.join(build.workdir, source).replace(/\/$/, ''), `line ${step.line}`);
      }
    }
  });

  it('runs as a numeric non-root user, in exec form, with a healthcheck and OCI labels', () => {
    const [uid, gid] = (runtime.user ?? '').split(':').map(Number);
    assert.ok(uid !== undefined && Number.isInteger(uid) && uid > 0, `USER ${runtime.user}`);
    assert.ok(gid === undefined || (Number.isInteger(gid) && gid > 0), `USER ${runtime.user}`);
    assert.deepEqual(runtime.entrypoint?.slice(0, 1), ['node']);
    assert.ok(runtime.healthcheck, 'HEALTHCHECK');
    for (const label of ['title', 'description', 'version', 'revision', 'licenses']) {
      assert.ok(runtime.labels[`org.opencontainers.image.${label}`], `LABEL org.opencontainers.image.${label}`);
    }
  });
});

describe('.dockerignore', () => {
  const ignored = dockerignore();
  const tracked = execFileSync('git', ['ls-files'], { cwd: REPO, encoding: 'utf8' }).split('\n').filter((p) => p !== '');

  it('keeps node_modules, build output, tests and docs out of the build context', () => {
    for (const path of ['node_modules/ws/index.js', 'libs/cluster/node_modules/x/index.js', 'services/ctl/node_modules/commander/index.js', 'services/broker/dist/main.js']) {
      assert.equal(ignored(path), true, path);
    }
    const testsAndDocs = tracked.filter((p) => /(^|\/)test\//.test(p) || p.startsWith('docs/'));
    assert.ok(testsAndDocs.length > 50, 'the repository has tests and docs to leave out');
    for (const path of testsAndDocs) assert.equal(ignored(path), true, path);
  });

  it('lets in the sources the build compiles', () => {
    const sources = tracked.filter((p) => /^(libs|services)\/[^/]+\/(src|lua|bin)\//.test(p));
    assert.ok(sources.length > 50);
    for (const path of sources) assert.equal(ignored(path), false, path);
  });
});

describe('the runtime layout, staged without Docker', () => {
  let image: StagedImage;
  let broker: BrokerHandle | undefined;

  before(() => {
    image = stageImage({ npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' });
  });
  after(async () => {
    await broker?.stop();
    image?.cleanup();
  });

  it('holds production dependencies and compiled JavaScript only', () => {
    const modules = image.host('node_modules');
    for (const dev of ['typescript', 'tsx', '@stomp/stompjs', 'fast-check', 'dockerfile-ast']) {
      assert.equal(existsSync(join(modules, dev)), false, `dev dependency ${dev} in the image`);
    }
    for (const prod of ['uWebSockets.js', 'ioredis', '@grpc/grpc-js', '.bin/stompede-ctl']) assert.ok(existsSync(join(modules, prod)), prod);
    for (const group of ['libs', 'services']) {
      for (const pkg of readdirSync(image.host(group))) {
        const entries = readdirSync(image.host(`${group}/${pkg}`));
        assert.ok(entries.includes('dist'), `${group}/${pkg} has dist/`);
        assert.equal(entries.includes('src'), false, `${group}/${pkg}/src in the image`);
        assert.equal(entries.includes('test'), false, `${group}/${pkg}/test in the image`);
      }
    }
  });

  it("starts a node through ENTRYPOINT that STOMP clients use over WebSocket and TCP", async () => {
    broker = await startBroker({
      command: image.command(),
      cwd: image.host('.'),
      env: { ...image.env(), STOMPEDE_LOG_LEVEL: 'info', STOMPEDE_DRAIN_WINDOW_MS: '200' },
    });
    const subscriber = await connectStompjs(broker.wsUrl);
    const inbox = new Inbox();
    await subscribed(subscriber, '/topic/image.check', inbox.push);
    const publisher = await RawClient.tcp(broker.tcpPort);
    await publisher.connect();
    publisher.send(frame('SEND', { destination: '/topic/image.check', receipt: 'r1' }, 'from the staged image'));
    const receipt = await publisher.next();
    assert.equal(receipt.command, 'RECEIPT', bodyText(receipt));
    assert.deepEqual((await inbox.until(1)).map((m) => m.body), ['from the staged image']);
    publisher.close();
    await subscriber.deactivate();
  });

  it('passes its HEALTHCHECK while the node runs', async () => {
    assert.ok(broker);
    const [program, ...args] = runtime.healthcheck!.command;
    assert.equal(program, 'node');
    const code = await run(process.execPath, args, { ...image.env(), STOMPEDE_WS_PORT: String(broker.wsPort), STOMPEDE_BIND: '127.0.0.1' }, image.host('.'));
    assert.equal(code, 0);
  });

  it("drains through the Kubernetes preStop hook's command, then exits on SIGTERM", { skip: kubectlMissing() }, async () => {
    assert.ok(broker);
    const [shell, ...args] = brokerContainer(renderOverlay('dev'))['lifecycle']['preStop']['exec']['command'] as string[];
    assert.equal(shell, '/bin/sh');
    const dir = mkdtempSync(join(tmpdir(), 'stompede-prestop-'));
    try {
      writeFileSync(join(dir, 'token'), TEST_ADMIN_TOKEN);
      const code = await run(shell, args, {
        PATH: image.env()['PATH']!,
        STOMPEDE_ADMIN_BIND: '127.0.0.1',
        STOMPEDE_ADMIN_PORT: String(broker.adminPort),
        STOMPEDE_NODE_ID: 'test-node',
        STOMPEDE_ADMIN_TOKEN_FILE: join(dir, 'token'),
      }, image.host('.'));
      assert.equal(code, 0, 'preStop exit code');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal((await fetch(`${broker.httpUrl}/readyz`)).status, 503, 'a drained node is not ready');
    assert.equal(await broker.stop(), 0, 'SIGTERM after the drain: a clean exit');
  });
});

async function run(program: string, args: readonly string[], env: Record<string, string>, cwd: string): Promise<number | null> {
  const child = spawn(program, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  if (code !== 0) process.stderr.write(`${program} ${args.join(' ')} exited ${code}:\n${output}\n`);
  return code;
}
