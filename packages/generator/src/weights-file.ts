/**
 * The committed weights file, model/weights.bin:
 *
 *   bytes 0..3   ASCII "CLGW"
 *   bytes 4..7   uint32 little-endian: length L of the JSON header
 *   next L bytes UTF-8 JSON header (TWeightsHeader), padded with spaces to an even length
 *   rest         the tensors listed in header.tensors, in order, as int16 little-endian
 *
 * Byte order is explicit so the file reads the same on every machine.
 */
export const WEIGHTS_MAGIC = 'CLGW';
export const WEIGHTS_FORMAT = 1;

export type TTensorName = 'b1' | 'wx' | 'wy' | 'wn' | 'z' | 'wz' | 'w2' | 'outBias';

export type TWeightsHeader = {
  format: number;
  /** The code the file was trained for; the loader refuses a file that does not match. */
  characters: string;
  cellWidth: number;
  cellHeight: number;
  paletteSize: number;
  neighbours: [number, number][];
  hidden: number;
  embed: number;
  /**
   * Fixed-point formats (value = integer / 2^exponent):
   *  b1, wx, wy, wn: Q10, the hidden pre-activation's format;
   *  z: Q(zExponent); wz: Q(wzExponent);
   *  w2: Q(w2Exponent) in log2 units (the softmax is taken base 2), |w2| <= 2047;
   *  outBias: Q8 in log2 units (output bias plus per character-and-position bias).
   * The hidden activation is requantized to Q(10 - hiddenShift) and clamped to 0..4095.
   */
  zExponent: number;
  wzExponent: number;
  w2Exponent: number;
  hiddenShift: number;
  tensors: { name: TTensorName; length: number }[];
  /** Provenance only; not read by inference. */
  training: Record<string, number | string>;
};

export type TWeights = { header: TWeightsHeader; tensors: Record<TTensorName, Int16Array> };

export function encodeWeights(weights: TWeights): Buffer {
  let json = JSON.stringify(weights.header);
  if (Buffer.byteLength(json) % 2 === 1) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const total = weights.header.tensors.reduce((n, t) => n + t.length * 2, 0);
  const out = Buffer.alloc(8 + headerBytes.length + total);
  out.write(WEIGHTS_MAGIC, 0, 'ascii');
  out.writeUInt32LE(headerBytes.length, 4);
  headerBytes.copy(out, 8);
  let off = 8 + headerBytes.length;
  for (const t of weights.header.tensors) {
    const data = weights.tensors[t.name];
    if (data.length !== t.length) throw new Error(`tensor ${t.name}: ${data.length} values, header says ${t.length}`);
    for (let i = 0; i < data.length; i++, off += 2) out.writeInt16LE(data[i]!, off);
  }
  return out;
}

export function decodeWeights(bytes: Uint8Array): TWeights {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.toString('ascii', 0, 4) !== WEIGHTS_MAGIC)
    throw new Error('not a Coolant generator weights file (bad magic)');
  const headerLength = buf.readUInt32LE(4);
  const header = JSON.parse(buf.toString('utf8', 8, 8 + headerLength)) as TWeightsHeader;
  if (header.format !== WEIGHTS_FORMAT)
    throw new Error(`weights format ${header.format}, this code reads ${WEIGHTS_FORMAT}`);
  const tensors = {} as Record<TTensorName, Int16Array>;
  let off = 8 + headerLength;
  for (const t of header.tensors) {
    if (off + t.length * 2 > buf.length) throw new Error(`weights file ends inside tensor ${t.name}`);
    const view = new DataView(buf.buffer, buf.byteOffset + off, t.length * 2);
    const data = new Int16Array(t.length);
    for (let i = 0; i < t.length; i++) data[i] = view.getInt16(i * 2, true);
    off += t.length * 2;
    tensors[t.name] = data;
  }
  if (off !== buf.length) throw new Error(`weights file has ${buf.length - off} trailing bytes`);
  return { header, tensors };
}
