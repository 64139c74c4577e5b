/**
 * Which numbered announcements a process has heard (coherence.ts). Announcements are numbered by
 * a shared counter, but two processes may publish in the opposite order to the one they counted
 * in, so numbers arrive out of order: a gap is judged missed only when it is still open at the
 * check after the one that first saw it.
 */
export class HeardSequence {
  /** Every number up to this one was heard (or predates the starting point). */
  private lowWater = 0;
  private highest = 0;
  /** Numbers heard above `lowWater`. */
  private readonly above = new Set<number>();
  private gapTarget: number | undefined;

  /** Records an announcement's number. */
  heard(seq: number): void {
    this.highest = Math.max(this.highest, seq);
    if (seq <= this.lowWater) return;
    this.above.add(seq);
    this.advance();
  }

  /** Starts over from the counter's current value (nothing before it can be missed any more). */
  restart(start: number): void {
    this.lowWater = start;
    this.highest = Math.max(start, 0);
    for (const seq of this.above) if (seq <= start) this.above.delete(seq);
    this.advance();
    this.gapTarget = undefined;
  }

  /**
   * Compares with the counter's current value: true when announcements were missed (a gap seen
   * at the previous check is still open, or the counter went backwards because it was removed).
   */
  missed(current: number): boolean {
    if (current < Math.max(this.lowWater, this.highest)) return true;
    if (this.gapTarget !== undefined && this.lowWater < this.gapTarget) return true;
    // A gap may be an announcement still on its way: judged at the next check.
    this.gapTarget = current > this.lowWater ? current : undefined;
    return false;
  }

  private advance(): void {
    while (this.above.delete(this.lowWater + 1)) this.lowWater += 1;
  }
}
