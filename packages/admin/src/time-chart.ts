import uPlot from 'uplot';

/** Points kept per chart: five minutes at one snapshot a second. */
export const WINDOW_POINTS = 300;

const AXIS = '#9aa4b5';
const GRID = '#232a36';

export interface SeriesSpec {
  id: string;
  label: string;
  color: string;
  /** Dashed, for the series that is a bound (a maximum) rather than a level. */
  dash?: boolean;
}

/**
 * A live line chart over the last WINDOW_POINTS snapshots. Series may be added while it runs (a drop reason
 * seen for the first time); their past is filled with 0, which is what a counter that had not moved reads.
 */
export class TimeChart {
  private readonly plot: uPlot;
  private readonly ids: string[] = [];
  private readonly data: number[][] = [[]];

  constructor(
    container: HTMLElement,
    series: SeriesSpec[],
    private readonly format: (value: number) => string,
  ) {
    const width = Math.max(200, container.clientWidth - 24);
    this.plot = new uPlot(
      {
        width,
        height: 200,
        legend: { live: true },
        cursor: { drag: { x: false, y: false }, points: { size: 6 } },
        scales: {
          x: { time: true },
          // From zero, with headroom: a flat line at the top edge reads as clipped.
          y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] },
        },
        axes: [
          { stroke: AXIS, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID, width: 1 } },
          {
            stroke: AXIS,
            size: 56,
            grid: { stroke: GRID, width: 1 },
            ticks: { stroke: GRID, width: 1 },
            values: (_u, splits) => splits.map((v) => this.format(v)),
          },
        ],
        // Off the chart, the legend shows the newest point rather than dashes: the figures an operator wants.
        series: [{ value: (_u, v) => clock(v ?? this.last(0)) }],
      },
      [[]],
      container,
    );
    for (const spec of series) this.addSeries(spec);
    new ResizeObserver(() => {
      this.plot.setSize({ width: Math.max(200, container.clientWidth - 24), height: 200 });
    }).observe(container);
  }

  private last(column: number): number | undefined {
    return this.data[column]?.at(-1);
  }

  has(id: string): boolean {
    return this.ids.includes(id);
  }

  addSeries(spec: SeriesSpec): void {
    if (this.has(spec.id)) return;
    this.ids.push(spec.id);
    this.data.push((this.data[0] as number[]).map(() => 0));
    this.plot.addSeries(
      {
        label: spec.label,
        stroke: spec.color,
        width: 1.75,
        dash: spec.dash ? [4, 4] : undefined,
        points: { show: false },
        value: (_u, v, series) => {
          const shown = v ?? this.last(series);
          return shown === undefined ? '–' : this.format(shown);
        },
      },
      this.ids.length,
    );
  }

  /** Appends one point per series (missing ones read 0) at `time` (epoch ms) and redraws. */
  push(time: number, values: Record<string, number>): void {
    (this.data[0] as number[]).push(time / 1000);
    this.ids.forEach((id, i) => {
      (this.data[i + 1] as number[]).push(values[id] ?? 0);
    });
    if ((this.data[0] as number[]).length > WINDOW_POINTS) for (const column of this.data) column.shift();
    this.plot.setData(this.data as uPlot.AlignedData);
  }
}

function clock(seconds: number | undefined): string {
  return seconds === undefined ? '–' : new Date(seconds * 1000).toLocaleTimeString();
}
