import type { CliInput, CliIo } from './io.js';

type Tty = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A one-line progress bar on stderr, drawn only when stderr is a TTY (logs and pipes stay clean).
 * Shows count, total (or the fraction of an input file read), rate and ETA; before the first item
 * a spinner with a status text ("loading model"), so a slow start never looks like a hang.
 * Redraws at most every 100 ms. We keep our own: it is ~100 lines, and the libraries (cli-progress,
 * progress) would add a dependency for the same line.
 */
export class ProgressBar {
  private readonly tty: boolean;
  private last = 0;
  private started = Date.now();
  private done = 0;
  private bytes = 0;
  private statusText: string | undefined;
  private spin = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param total items expected, when known (e.g. documents to write)
   * @param bytesTotal size of the input file; progress is then the share of it read
   */
  constructor(
    private readonly stream: Tty,
    private label: string,
    private total?: number,
    private bytesTotal?: number,
  ) {
    this.tty = stream.isTTY === true;
  }

  /** Shows `text` with a spinner until the first update (or the next status). */
  status(text: string): void {
    if (!this.tty) return;
    this.statusText = text;
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
    this.draw();
  }

  /** Starts a new phase on the same line (index build: reading → building → writing). */
  phase(label: string, total?: number): void {
    this.label = label;
    this.total = total;
    this.bytesTotal = undefined;
    this.done = 0;
    this.started = Date.now();
  }

  setTotal(total: number): void {
    this.total = total;
  }

  /** Bytes of input consumed (see {@link CliInput.size}). */
  addBytes(n: number): void {
    this.bytes += n;
  }

  update(done: number, force = false): void {
    this.done = done;
    if (this.statusText !== undefined) this.stopSpinner();
    if (!this.tty) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.draw();
  }

  finish(done: number): void {
    this.stopSpinner();
    if (!this.tty) return;
    this.done = done;
    this.draw(true);
    this.stream.write('\n');
  }

  /** Clears the line (on errors), so the message that follows starts at column 0. */
  clear(): void {
    this.stopSpinner();
    if (this.tty) this.stream.write('\r\x1b[K');
  }

  private stopSpinner(): void {
    this.statusText = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private draw(final = false): void {
    this.last = Date.now();
    const secs = (this.last - this.started) / 1000;
    if (this.statusText !== undefined) {
      this.stream.write(`\r${SPINNER[this.spin++ % SPINNER.length]} ${this.label}: ${this.statusText} ${secs.toFixed(0)}s\x1b[K`);
      return;
    }
    const rate = secs > 0 ? this.done / secs : 0;
    const frac = this.total !== undefined && this.total > 0 ? this.done / this.total : this.bytesTotal !== undefined && this.bytesTotal > 0 ? this.bytes / this.bytesTotal : undefined;
    let text = `${this.label} `;
    if (frac !== undefined) {
      const f = final ? 1 : Math.min(1, frac);
      const width = 24;
      const fill = Math.round(f * width);
      text += `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${this.done}${this.total !== undefined ? `/${this.total}` : ''} ${(f * 100).toFixed(0)}%`;
      text += ` ${rate.toFixed(rate < 10 ? 1 : 0)}/s`;
      text += final || f >= 1 || f <= 0 ? ` ${formatDuration(secs)}` : ` ETA ${formatDuration((secs * (1 - f)) / f)}`;
    } else {
      text += `${this.done} ${rate.toFixed(rate < 10 ? 1 : 0)}/s ${formatDuration(secs)}`;
    }
    this.stream.write(`\r${text}\x1b[K`);
  }
}

function formatDuration(secs: number): string {
  if (!Number.isFinite(secs)) return '?';
  const s = Math.round(secs);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** A terminal waiting on stdin gets told what the command expects, instead of silence. */
export function stdinHint(input: CliInput, io: CliIo, expects: string): void {
  if (input.interactive) io.stderr.write(`reading ${expects} from stdin (end with Ctrl-D; --help for options)\n`);
}
