/**
 * Progress on standard error: a bar redrawn in place on a terminal (at most every
 * {@link REDRAW_MS} ms), otherwise one line per 5 % of the inputs (and one per failure), so CI logs stay
 * readable. Both give the rate and, once it can be estimated, the time left. Results never go to standard
 * error.
 *
 * @module
 */
import { stderrColumns, stderrIsTTY, writeStderr } from "../core/platform.ts";
import { displayPath, type Progress } from "../mod.ts";

/** Terminal redraws at most this often (a 100,000-input run would otherwise write 100,000 bars). */
export const REDRAW_MS = 100;

/** No time left is shown before this much of the run has been measured. */
const ETA_AFTER_MS = 1000;

/** `1h02m`, `3m05s`, `42s`. */
export const formatDuration = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
};

/**
 * Rate and time left from the start of the run and the inputs recorded since, less those carried over from an
 * earlier run (`--resume`), which are recorded at once at the start and would make the rate a lie.
 */
export class RunClock {
  readonly #started: number;

  constructor(
    readonly total: number,
    readonly carried = 0,
    readonly now: () => number = () => performance.now(),
  ) {
    this.#started = now();
  }

  /** Notes `done` inputs recorded; returns the rate (inputs/s) and seconds left, when they can be told. */
  tick(done: number): { readonly rate?: number; readonly left?: number } {
    const ms = this.now() - this.#started;
    const counted = done - this.carried;
    if (ms <= 0 || counted <= 0) return {};
    const rate = (counted / ms) * 1000;
    return ms < ETA_AFTER_MS || done >= this.total ? { rate } : { rate, left: (this.total - done) / rate };
  }
}

/** `135.5/s, 1m05s left`, or less when not known yet. */
const pace = (t: { readonly rate?: number; readonly left?: number }): string =>
  [
    t.rate === undefined ? "" : `${t.rate.toFixed(1)}/s`,
    t.left === undefined ? "" : `${formatDuration(t.left)} left`,
  ]
    .filter((x) => x !== "").join(", ");

/** A progress reporter for `total` inputs. */
export const makeProgress = (
  total: number,
  options: {
    readonly quiet?: boolean;
    /** Inputs an earlier run finished (`--resume`): not counted in the rate. */
    readonly carried?: number;
    /** For tests: whether standard error is a terminal, the clock (ms) and where the text goes. */
    readonly tty?: boolean;
    readonly now?: () => number;
    readonly write?: (text: string) => void;
  } = {},
) => {
  const tty = options.tty ?? stderrIsTTY();
  const write = options.write ?? writeStderr;
  const now = options.now ?? (() => performance.now());
  const every = Math.max(1, Math.ceil(total / 20));
  const clock = new RunClock(total, options.carried ?? 0, now);
  let drawn = false;
  let lastDraw = -Infinity;
  return {
    update(p: Progress): void {
      if (options.quiet) return;
      const timing = clock.tick(p.done);
      const error = p.last.status === "error" && p.last.error;
      if (error) {
        const line = `error ${displayPath(p.last.input)}: ${error.code}: ${error.message}\n`;
        write(tty && drawn ? `\r\x1b[2K${line}` : line);
      }
      const finished = p.done === p.total;
      if (tty) {
        if (!finished && !error && now() - lastDraw < REDRAW_MS) return;
        lastDraw = now();
        const width = Math.max(10, Math.min(40, stderrColumns() - 60));
        const filled = Math.round((p.done / p.total) * width);
        const bar = "#".repeat(filled) + "-".repeat(width - filled);
        const failed = p.failed > 0 ? ` ${p.failed} failed` : "";
        write(`\r\x1b[2K[${bar}] ${p.done}/${p.total} ${pace(timing)}${failed}`);
        drawn = true;
        if (finished) write("\n");
      } else if (p.done % every === 0 || finished) {
        const said = pace(timing);
        write(`${p.done}/${p.total} inputs (${p.failed} failed)${said ? ` ${said}` : ""}\n`);
      }
    },
  };
};
