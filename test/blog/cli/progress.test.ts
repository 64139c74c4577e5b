import { describe, expect, it } from 'vitest';
import { ProgressBar } from '../../../src/blog/cli/progress.ts';

function output(isTTY: boolean) {
  const written: string[] = [];
  return { written, isTTY, write: (text: string) => written.push(text) };
}

describe('ProgressBar', () => {
  it('redraws one line in place on a terminal, at most every 100 ms but always at the end, then clears it', () => {
    const out = output(true);
    let now = 0;
    const bar = new ProgressBar(out, 'importing', 200, () => now);
    bar.update(50);
    now += 50;
    bar.update(100);
    now += 60;
    bar.update(150);
    bar.update(200);
    bar.clear();
    expect(out.written).toEqual([
      '\rimporting [########......................]  25% 50/200',
      '\rimporting [#######################.......]  75% 150/200',
      '\rimporting [##############################] 100% 200/200',
      '\r\u001b[2K',
    ]);
  });

  it('writes nothing where the output is not a terminal (pipes and logs get only the final line)', () => {
    const out = output(false);
    const bar = new ProgressBar(out, 'importing', 10, () => 0);
    for (let done = 1; done <= 10; done++) bar.update(done);
    bar.clear();
    expect(out.written).toEqual([]);
  });
});
