// `make rollout-rehearsal [ARGS="--profile smoke --json out.json"]`; see docs/loadtest.md.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadScenario, parseOverrides } from '../driver/scenario-file.js';
import { rehearsalText, runRehearsal } from './rollout.js';

const USAGE = `usage: node --import tsx loadtest/rehearsal/main.ts [--profile smoke] [--set KEY=VALUE]... [--json FILE]

A rolling update of a 3-node cluster under traffic, as processes (loadtest/scenarios/rollout.json).
Exit 0 when nothing was lost or duplicated, 1 otherwise, 2 on bad usage, 3 when the run failed.
`;

async function main(): Promise<void> {
  let values;
  try {
    values = parseArgs({
      options: {
        profile: { type: 'string', default: 'default' },
        set: { type: 'string', multiple: true, default: [] },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`rollout-rehearsal: ${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  let scenario;
  try {
    scenario = loadScenario('rollout', values.profile, parseOverrides(values.set));
  } catch (err) {
    process.stderr.write(`rollout-rehearsal: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const report = await runRehearsal(scenario, (line) => process.stderr.write(`rollout-rehearsal: ${line}\n`));
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${rehearsalText(report)}\n`);
  process.exitCode = report.passed ? 0 : 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`rollout-rehearsal: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(3);
});
