// Where the Redis of a test comes from. By default, and in CI, a redis-server process per test file
// (`process`). With STOMPEDE_TEST_REDIS_PROVIDER=testcontainers, a Redis container per test file,
// started by testcontainers' Redis module, for machines that have Docker and no redis-server. The
// suite never needs Docker: testcontainers is loaded only when chosen. Both fixtures
// (libs/cluster/test/redis.ts, services/broker/test/helpers/redis-server.ts) select through here.
export const PROVIDER_ENV = 'STOMPEDE_TEST_REDIS_PROVIDER';
export const IMAGE_ENV = 'STOMPEDE_TEST_REDIS_IMAGE';
export const SHARED_URL_ENV = 'STOMPEDE_TEST_REDIS_URL';
export const REDIS_PROVIDERS = ['process', 'testcontainers'] as const;
export type RedisProvider = (typeof REDIS_PROVIDERS)[number];
/** The Redis the manifests' dev overlay runs (deploy/k8s/overlays/dev/redis.yaml). */
export const DEFAULT_REDIS_IMAGE = 'redis:7.2-bookworm';

export class RedisProviderError extends Error {}

/** The provider STOMPEDE_TEST_REDIS_PROVIDER names; throws for a name it does not know. */
export function redisProvider(env: NodeJS.ProcessEnv = process.env): RedisProvider {
  const raw = env[PROVIDER_ENV]?.trim() ?? '';
  if (raw === '') return 'process';
  if (!(REDIS_PROVIDERS as readonly string[]).includes(raw)) {
    throw new RedisProviderError(
      `${PROVIDER_ENV}=${raw} is not a Redis provider for the tests: use process (a redis-server process per test file, the default) or testcontainers (a Docker container per test file)`,
    );
  }
  if (raw === 'testcontainers' && env[SHARED_URL_ENV]) {
    throw new RedisProviderError(`${PROVIDER_ENV}=testcontainers and ${SHARED_URL_ENV} both say where Redis is: set one`);
  }
  return raw as RedisProvider;
}

/** Why tests cannot stop, kill or restart the Redis they are given, or undefined when they can. */
export function redisNotRestartable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[SHARED_URL_ENV]) return `the shared Redis of ${SHARED_URL_ENV} cannot be stopped or restarted by tests`;
  if (redisProvider(env) === 'testcontainers') return 'a testcontainers Redis is not restarted on the same port: this test needs the process provider';
  return undefined;
}

export interface ContainerRedis {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** redis-cli inside the container; resolves with its stdout (trimmed). */
  cli(...args: string[]): Promise<string>;
  /** What the container printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts a Redis container (no persistence unless `args` ask for it); fails clearly without Docker. */
export async function startRedisContainer(args: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<ContainerRedis> {
  const image = env[IMAGE_ENV]?.trim() || DEFAULT_REDIS_IMAGE;
  let started;
  let log = '';
  try {
    const { RedisContainer } = await import('@testcontainers/redis');
    started = await new RedisContainer(image)
      .withCommand(['redis-server', '--save', '', ...args])
      .withLogConsumer((stream) => stream.on('data', (d: Buffer | string) => (log += d.toString())))
      .start();
  } catch (err) {
    throw new RedisProviderError(`${PROVIDER_ENV}=testcontainers: could not start a ${image} container (is Docker running?): ${(err as Error).message}`, { cause: err });
  }
  const container = started;
  return {
    host: container.getHost(),
    port: container.getPort(),
    url: `redis://${container.getHost()}:${container.getPort()}`,
    async cli(...cliArgs) {
      const result = await container.exec(['redis-cli', ...cliArgs]);
      if (result.exitCode !== 0) throw new Error(`redis-cli ${cliArgs.join(' ')} in the container: exit ${result.exitCode}\n${result.stderr}`);
      return result.stdout.trim();
    },
    output: () => log,
    async stop() {
      await container.stop();
    },
  };
}
