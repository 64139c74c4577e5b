/** Where a progress bar draws: a terminal (redrawn in place) or anything else (left alone). */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

const WIDTH = 30;
/** Redraws at most this often, in milliseconds: a terminal need not see every batch. */
const REDRAW_MS = 100;

/**
 * A progress bar for a command: on a terminal, `label [#####.....] 45% 9000/20000` redrawn in
 * place; elsewhere (a pipe, a log file) nothing until the caller's final line, so logs get no
 * carriage returns.
 *
 * @example
 * const bar = new ProgressBar(process.stdout, 'importing', total);
 * bar.update(done); … bar.clear(); console.log('imported …');
 */
export class ProgressBar {
  private drawnAt = Number.NEGATIVE_INFINITY;
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    private readonly label: string,
    private readonly total: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Shows `done` of the total (throttled; the last step is always drawn). */
  update(done: number): void {
    if (this.out.isTTY !== true || this.total === 0) return;
    const time = this.now();
    if (done < this.total && time - this.drawnAt < REDRAW_MS) return;
    this.drawnAt = time;
    const ratio = Math.min(1, done / this.total);
    const filled = Math.round(ratio * WIDTH);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}`;
    this.out.write(`\r${this.label} [${bar}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${done}/${this.total}`);
    this.drawn = true;
  }

  /** Removes the bar, so the final line starts clean. */
  clear(): void {
    if (this.drawn) this.out.write('\r\u001b[2K');
    this.drawn = false;
  }
}
