/**
 * Progress on standard error: a bar redrawn in place on a terminal, otherwise one line per N inputs (and one
 * per failure), so CI logs stay readable. Results never go to standard error.
 *
 * @module
 */
import { stderrColumns, stderrIsTTY, writeStderr } from "../core/platform.ts";
import { displayPath, type Progress } from "../mod.ts";

/** A progress reporter for `total` inputs. */
export const makeProgress = (total: number, options: { readonly quiet?: boolean } = {}) => {
  const tty = stderrIsTTY();
  const every = Math.max(1, Math.ceil(total / 20));
  const started = performance.now();
  let drawn = false;
  const rate = (done: number) => {
    const s = (performance.now() - started) / 1000;
    return s > 0 ? `${(done / s).toFixed(1)}/s` : "";
  };
  return {
    update(p: Progress): void {
      if (options.quiet) return;
      if (p.last.status === "error" && p.last.error) {
        const line = `error ${displayPath(p.last.input)}: ${p.last.error.code}: ${p.last.error.message}\n`;
        writeStderr(tty && drawn ? `\r\x1b[2K${line}` : line);
      }
      if (tty) {
        const width = Math.max(10, Math.min(40, stderrColumns() - 50));
        const filled = Math.round((p.done / p.total) * width);
        const bar = "#".repeat(filled) + "-".repeat(width - filled);
        const failed = p.failed > 0 ? ` ${p.failed} failed` : "";
        writeStderr(`\r\x1b[2K[${bar}] ${p.done}/${p.total} ${rate(p.done)}${failed}`);
        drawn = true;
        if (p.done === p.total) writeStderr("\n");
      } else if (p.done % every === 0 || p.done === p.total) {
        writeStderr(`${p.done}/${p.total} inputs (${p.failed} failed) ${rate(p.done)}\n`);
      }
    },
  };
};
