/** Largest secret read from standard input, in bytes: a password, not a file. */
const PIPED_MAX_BYTES = 64 * 1024;

/** The person pressed Ctrl-C or Ctrl-D at a prompt. */
export class InputAborted extends Error {
  override name = 'InputAborted';
}

/**
 * Reads secrets from a terminal without echoing them: each `ask()` writes its prompt to `prompts`
 * and returns the next line typed. Backspace and Ctrl-U edit; Ctrl-C or Ctrl-D (on an empty line)
 * reject with {@link InputAborted}; arrow keys and other escape sequences are ignored. Keys typed
 * ahead (a paste of two lines) are kept for the next `ask()`.
 *
 * @example
 * const terminal = new SecretTerminal(process.stdin, process.stderr);
 * try { const password = await terminal.ask('Password: '); } finally { terminal.close(); }
 */
export class SecretTerminal {
  private pending = '';
  private waiting: (() => void) | undefined;
  private ended = false;
  private readonly onData = (chunk: Buffer | string) => {
    this.pending += chunk.toString();
    this.waiting?.();
  };
  private readonly onEnd = () => {
    this.ended = true;
    this.waiting?.();
  };

  constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly prompts: NodeJS.WritableStream,
  ) {
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', this.onData);
    input.on('end', this.onEnd);
    input.resume();
  }

  /** Writes `prompt` and resolves the line typed, never shown. */
  async ask(prompt: string): Promise<string> {
    this.prompts.write(prompt);
    let line = '';
    for (;;) {
      while (this.pending === '') {
        if (this.ended) throw new InputAborted('input ended');
        await new Promise<void>((resolve) => (this.waiting = resolve));
        this.waiting = undefined;
      }
      const key = this.takeKey();
      if (key === '\r' || key === '\n') break;
      if (key === '\u0003' || (key === '\u0004' && line === '')) {
        this.prompts.write('\n');
        throw new InputAborted(key === '\u0003' ? 'interrupted' : 'input ended');
      }
      if (key === '\u007f' || key === '\b') line = Array.from(line).slice(0, -1).join('');
      else if (key === '\u0015') line = '';
      else if (!/^[\u0000-\u001f\u007f]/.test(key)) line += key;
    }
    this.prompts.write('\n');
    return line;
  }

  /** Restores the terminal's echo and lets the process exit. */
  close(): void {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.setRawMode(false);
    this.input.pause();
  }

  // One key: an escape sequence whole (ESC [ ... final letter), else one code point.
  private takeKey(): string {
    const escape = /^\u001b(?:\[[0-?]*[ -/]*[@-~]|O.|.)?/s.exec(this.pending);
    const key = escape?.[0] ?? String.fromCodePoint(this.pending.codePointAt(0) ?? 0);
    this.pending = this.pending.slice(key.length);
    return key;
  }
}

/**
 * The first line of everything piped to standard input (a trailing `\r` dropped), at most
 * {@link PIPED_MAX_BYTES} bytes read: `printf '%s\n' "$PASSWORD" | npm run …`.
 */
export async function readPipedLine(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(buffer);
    size += buffer.length;
    if (size > PIPED_MAX_BYTES) throw new Error(`standard input holds more than ${PIPED_MAX_BYTES} bytes; pipe only the password`);
  }
  return (Buffer.concat(chunks).toString('utf8').split('\n', 1)[0] ?? '').replace(/\r$/, '');
}
