/** A content coding a response can be sent in; `identity` is the body as it is. */
export type ContentCoding = 'br' | 'gzip' | 'identity';

/** A coding other than identity, which a body may have a compressed form in. */
export type Compression = Exclude<ContentCoding, 'identity'>;

/** The compressions made, best first: brotli wins a tie with gzip (smaller for text). */
export const COMPRESSIONS: readonly Compression[] = ['br', 'gzip'];

/** Whether a value names one of the {@link COMPRESSIONS}. */
export function isCompression(value: unknown): value is Compression {
  return value === 'br' || value === 'gzip';
}

/** A weight: `0`, `1`, or up to three decimals between them (RFC 9110 §12.4.2). */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The weights an `Accept-Encoding` header gives, by lower-case coding (`x-gzip` counted as
 * `gzip`, RFC 9110 §18.6), `*` included. An entry whose weight is not a valid qvalue says nothing
 * and is left out; when a coding is listed twice, its first entry counts.
 */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const entry of header.split(',')) {
    const [name = '', ...params] = entry.split(';').map((part) => part.trim());
    if (name === '') continue;
    let q = 1;
    let valid = true;
    for (const param of params) {
      const [key = '', value = ''] = param.split('=', 2).map((part) => part.trim());
      if (key.toLowerCase() !== 'q') continue;
      valid = QVALUE.test(value);
      q = Number(value);
    }
    const coding = name.toLowerCase() === 'x-gzip' ? 'gzip' : name.toLowerCase();
    if (valid && !weights.has(coding)) weights.set(coding, q);
  }
  return weights;
}

/**
 * The coding to send a response in, given the request's `Accept-Encoding` and the compressions
 * the response is `available` in (RFC 9110 §12.5.3): the acceptable compression of highest
 * weight, a tie going to the earlier of `available`; identity only when the header weighs it
 * higher (an `identity` entry, or `*`, which stands for every coding the header does not name)
 * or when no compression is acceptable. Without the header the answer is identity: the file as
 * it is, which every client can read, and so it is too when identity is refused and nothing else
 * is acceptable (no 406).
 *
 * @example
 * negotiateEncoding('gzip, deflate, br', ['br', 'gzip']);   // 'br'
 * negotiateEncoding('br;q=0.5, gzip', ['br', 'gzip']);      // 'gzip'
 * negotiateEncoding('gzip;q=0, br;q=0', ['br', 'gzip']);    // 'identity'
 */
export function negotiateEncoding(header: string | undefined, available: readonly Compression[]): ContentCoding {
  if (header === undefined) return 'identity';
  const weights = parseAcceptEncoding(header);
  const any = weights.get('*');
  let best: ContentCoding = 'identity';
  // Identity is acceptable unless refused, but outweighs a compression only when weighed itself.
  let bestQ = weights.get('identity') ?? any ?? 0;
  // Walked worst first, so a tie replaces the later choice with the earlier (preferred) one.
  for (const coding of [...available].reverse()) {
    const q = weights.get(coding) ?? any ?? 0;
    if (q > 0 && q >= bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}
