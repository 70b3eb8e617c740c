// The soak's chart: RSS, V8 heap in use and open file descriptors of every process over time, one
// panel each, a line per process (a restarted node is a new line of the same colour), the node
// restart and the slope window marked. Described in Vega-Lite and rendered to SVG by Vega without a
// browser or canvas.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Sample } from './trend.js';

export interface ChartMarks {
  readonly title: string;
  /** Seconds since the start: when the restarted node got SIGTERM, and when it served again. */
  readonly restart?: { readonly stopS: number; readonly upS: number };
  /** The slope window, seconds. */
  readonly window: { readonly fromS: number; readonly toS: number };
}

type Field = 'rssMiB' | 'heapMiB' | 'fds';

/** One panel; plain Vega-Lite JSON, checked by Vega-Lite's compiler when the chart is rendered. */
function panel(field: Field, title: string, marks: ChartMarks): object {
  return {
    width: 760,
    height: 200,
    layer: [
      {
        data: { values: [{ from: marks.window.fromS / 60, to: marks.window.toS / 60 }] },
        mark: { type: 'rect', opacity: 0.08, color: '#4c78a8' },
        encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' } },
      },
      ...(marks.restart === undefined ? [] : [{
        data: { values: [{ at: marks.restart.stopS / 60, label: 'SIGTERM' }, { at: marks.restart.upS / 60, label: 'back' }] },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#888' },
        encoding: { x: { field: 'at', type: 'quantitative' } },
      }]),
      {
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'minutes', type: 'quantitative', title: 'minutes since start' },
          y: { field, type: 'quantitative', title, scale: { zero: false } },
          color: { field: 'process', type: 'nominal', title: 'process' },
          detail: { field: 'pid', type: 'nominal' },
        },
      },
    ],
  };
}

export function chartSpec(samples: readonly Sample[], marks: ChartMarks): TopLevelSpec {
  const MiB = 1024 * 1024;
  const values = samples.map((s) => ({
    minutes: s.t / 60, process: s.process, pid: s.pid, rssMiB: s.rssBytes / MiB, heapMiB: s.heapUsedBytes / MiB, fds: s.fds,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: marks.title, subtitle: 'shaded: the second half, where the slopes are taken; dashed: node restart (SIGTERM, back)' },
    data: { values },
    vconcat: [panel('rssMiB', 'RSS (MiB)', marks), panel('heapMiB', 'V8 heap used (MiB; Redis: used_memory)', marks), panel('fds', 'open file descriptors', marks)],
    resolve: { scale: { color: 'shared' } },
    config: { font: 'sans-serif', background: 'white' },
  } as unknown as TopLevelSpec;
}

/** The chart as an SVG document. */
export async function renderChart(samples: readonly Sample[], marks: ChartMarks): Promise<string> {
  const view = new View(parse(compile(chartSpec(samples, marks)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
