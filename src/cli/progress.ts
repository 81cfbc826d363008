/**
 * A one-line progress bar on stderr, drawn only when stderr is a TTY (so logs and pipes stay clean).
 * Redraws at most every 100 ms.
 */
export class ProgressBar {
  private readonly tty: boolean;
  private last = 0;
  private readonly started = Date.now();

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly label: string,
    private total: number | undefined,
  ) {
    this.tty = stream.isTTY === true;
  }

  setTotal(total: number): void {
    this.total = total;
  }

  update(done: number, force = false): void {
    if (!this.tty) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const width = 30;
    let bar = '';
    if (this.total !== undefined && this.total > 0) {
      const frac = Math.min(1, done / this.total);
      const fill = Math.round(frac * width);
      bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${this.total}`;
    } else {
      bar = `${done}`;
    }
    this.stream.write(`\r${this.label} ${bar} ${rate.toFixed(1)}/s ${secs.toFixed(0)}s\x1b[K`);
  }

  finish(done: number): void {
    if (!this.tty) return;
    this.update(done, true);
    this.stream.write('\n');
  }
}
