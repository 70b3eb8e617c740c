// How a drain's progress is shown: a progress bar on a terminal, one plain line per change when
// stdout is a pipe or a file (no escape codes in logs), JSON lines for scripts.
import { Presets, SingleBar } from 'cli-progress';
import { DrainResponse, type DrainStatus } from '@stompede/admin-api';
import { printJsonLine, printText } from '../output.js';
import { drainLine, drainPhaseLabel } from '../views/drain.js';

export interface DrainReporter {
  update(message: DrainResponse): void;
  /** Leaves the terminal tidy, whatever the outcome. */
  stop(): void;
}

export function drainReporter(json: boolean): DrainReporter {
  if (json) return new JsonLinesReporter();
  return process.stdout.isTTY ? new ProgressBarReporter() : new PlainLinesReporter();
}

/** What makes two statuses look different to a person watching. */
function progressKey(status: DrainStatus): string {
  return `${status.phase}/${status.clientsLeft}/${status.clientsAtStart}`;
}

class JsonLinesReporter implements DrainReporter {
  update(message: DrainResponse): void {
    printJsonLine(DrainResponse.toJSON(message));
  }

  stop(): void {}
}

class PlainLinesReporter implements DrainReporter {
  #lastKey = '';

  update(message: DrainResponse): void {
    if (message.status === undefined) return;
    const key = progressKey(message.status);
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    printText(drainLine(message.nodeId, message.status));
  }

  stop(): void {}
}

class ProgressBarReporter implements DrainReporter {
  readonly #bar = new SingleBar(
    {
      format: '{node} {phase} [{bar}] {value}/{total} clients closed, {left} left',
      stream: process.stdout,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  #started = false;

  update(message: DrainResponse): void {
    if (message.status === undefined) return;
    const status = message.status;
    // During the grace nobody is closed yet and clients_at_start is 0: every client still counts.
    const total = status.clientsAtStart > 0 ? status.clientsAtStart : status.clientsLeft;
    const closed = Math.max(0, total - status.clientsLeft);
    const payload = { node: message.nodeId, phase: drainPhaseLabel(status.phase), left: status.clientsLeft };
    if (!this.#started) {
      this.#bar.start(total, closed, payload);
      this.#started = true;
      return;
    }
    this.#bar.setTotal(total);
    this.#bar.update(closed, payload);
  }

  stop(): void {
    if (this.#started) this.#bar.stop();
  }
}
