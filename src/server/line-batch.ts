/** How long log lines wait to be handed over, at most (ms), and how much of them. */
const BATCH_MS = 20;
const MAX_BATCH_CHARS = 64 * 1024;

/** Log lines gathered for a few milliseconds and handed over together (one message, not one per line). */
export class LineBatch {
  private pending = "";
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly send: (lines: string) => void) {}

  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= MAX_BATCH_CHARS) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === "") return;
    this.send(this.pending);
    this.pending = "";
  }
}
