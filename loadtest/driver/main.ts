// The load driver's command line; see loadtest/README.md.
//   node --import tsx loadtest/driver/main.ts <scenario> [options]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { textReport } from './report.js';
import { runScenario } from './run.js';
import { loadScenario, parseOverrides, scenarioNames } from './scenario-file.js';

const USAGE = `usage: node --import tsx loadtest/driver/main.ts <scenario> [options]

Runs loadtest/scenarios/<scenario>.json against running broker nodes, with the thresholds that
file declares (the ones k6 applies to loadtest/k6/<scenario>.ts). Exit 0: every threshold held;
1: some threshold was crossed; 2: usage; 3: the run failed.

scenarios: ${scenarioNames().join(', ')}

  --urls LIST        WebSocket URLs of the nodes, comma-separated (default ws://127.0.0.1:15674/ws)
  --profile NAME     a profile of the scenario file, e.g. smoke (default: the file's params)
  --set KEY=VALUE    override one parameter (repeatable)
  --procs N          spread subscribers, consumers or connections over N worker processes
                     (default 0: all in this process)
  --client raw|stompjs  topic subscribers' client (default: stompjs, which reconnects and resumes,
                     for the drain scenario; else stompbench's raw client, cheapest per message)
  --admin HOST:PORT  admin API of any node (drain-reconnect drains a node through it)
  --admin-token T / --admin-token-file F   its bearer token
  --json FILE        also write the result as JSON to FILE ("-": stdout instead of the text)
  -h, --help
`;

function fail(code: number, message: string): never {
  process.stderr.write(`loadtest: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        urls: { type: 'string', default: 'ws://127.0.0.1:15674/ws' },
        profile: { type: 'string', default: 'default' },
        set: { type: 'string', multiple: true, default: [] },
        procs: { type: 'string', default: '0' },
        client: { type: 'string' },
        admin: { type: 'string' },
        'admin-token': { type: 'string' },
        'admin-token-file': { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    fail(2, `${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (positionals.length !== 1) fail(2, `name one scenario\n${USAGE}`);
  const procs = Number(values.procs);
  if (!/^\d+$/.test(values.procs) || procs > 64) fail(2, `--procs must be a whole number from 0 to 64, got "${values.procs}"`);
  if (values.client !== undefined && values.client !== 'raw' && values.client !== 'stompjs') fail(2, `--client is raw or stompjs, got "${values.client}"`);
  const urls = values.urls.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  for (const u of urls) if (!/^wss?:\/\//.test(u)) fail(2, `--urls: not a ws:// or wss:// URL: ${u}`);

  let scenario;
  try {
    scenario = loadScenario(positionals[0]!, values.profile, parseOverrides(values.set));
  } catch (err) {
    fail(2, (err as Error).message);
  }
  const admin = values.admin === undefined ? undefined : { address: values.admin, token: values['admin-token'], tokenFile: values['admin-token-file'] };
  const toStdout = values.json === '-';
  const result = await runScenario({
    scenario,
    urls,
    procs,
    ...(values.client === undefined ? {} : { client: values.client as 'raw' | 'stompjs' }),
    ...(admin === undefined ? {} : { admin }),
    log: (line) => process.stderr.write(`loadtest: ${line}\n`),
  });
  if (values.json !== undefined && !toStdout) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(toStdout ? `${JSON.stringify(result)}\n` : `${textReport(result)}\n`);
  process.exitCode = result.passed ? 0 : 1;
}

main().catch((err: unknown) => fail(3, err instanceof Error ? err.stack ?? err.message : String(err)));
