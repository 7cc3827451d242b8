/**
 * Strict parser for `nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits`.
 *
 * nvidia-smi's "csv" is not RFC 4180: values are joined with ", " and never quoted. The only
 * free-text field among those a collector asks for is the product name, so the rule is:
 *
 *   Split the line on ", ". With F requested fields, a line must give at least F parts. If it
 *   gives F + k parts and the query contains `name` (or its alias `gpu_name`), the k surplus
 *   separators belong to the name: the name is the parts from its position through position + k,
 *   joined again with ", ". With no free-text field, or with fewer than F parts, the line is
 *   reported as a problem and skipped, never guessed at.
 *
 * Values nvidia-smi uses for "no value" (`N/A`, `[N/A]`, `[Not Supported]`, `[GPU requires reset]`,
 * any other `[...]`, or an empty value) become null. The ones that point at a sick GPU are also
 * reported as problems, so they reach collector health.
 */

/** One GPU line, keyed by the field names as they were requested (aliases stay aliases). */
export type TQueryGpuRow = Record<string, string | null>;

export type TQueryGpuParseResult = {
  rows: TQueryGpuRow[];
  /** One human-readable line per rejected line or alarming value. */
  problems: string[];
};

export type TParseQueryGpuOptions = {
  /**
   * The text comes from `--format=csv` (the default nvidia-smi format): the first line is a header
   * and numbers carry the unit the header names (`memory.used [MiB]` → `19818 MiB`). Used to read
   * captures; the collector itself always asks for `noheader,nounits`.
   */
  header?: boolean;
};

const SEPARATOR = ', ';
const FREE_TEXT_FIELDS = new Set(['name', 'gpu_name']);
/** "No value here" that is normal for the GPU model or driver, as opposed to a fault. */
const BENIGN_TOKENS = new Set([
  '',
  'N/A',
  '[N/A]',
  '[Not Supported]',
  '[Requested functionality has been deprecated]',
  '[Insufficient Permissions]',
]);

export function isUnknownToken(value: string): boolean {
  return BENIGN_TOKENS.has(value) || /^\[.*\]$/.test(value);
}

export function parseQueryGpuCsv(
  text: string,
  fields: readonly string[],
  options: TParseQueryGpuOptions = {},
): TQueryGpuParseResult {
  const problems: string[] = [];
  const rows: TQueryGpuRow[] = [];
  if (fields.length === 0) return { rows, problems: ['no fields were requested'] };

  const freeTextIndexes = fields.flatMap((field, i) => (FREE_TEXT_FIELDS.has(field) ? [i] : []));
  // Two free-text columns would make the split ambiguous; refuse rather than guess.
  const nameIndex = freeTextIndexes.length === 1 ? freeTextIndexes[0] : undefined;
  if (freeTextIndexes.length > 1)
    problems.push(
      `fields ${freeTextIndexes.map((i) => fields[i]).join(' and ')} are both free text; lines with extra separators cannot be split`,
    );

  const lines = text.split('\n').map((line, i) => ({ line: line.replace(/\r$/, ''), lineNo: i + 1 }));
  let units: Array<string | null> = fields.map(() => null);
  let headerSeen = !options.header;

  for (const { line, lineNo } of lines) {
    if (line.trim() === '') continue;
    if (!headerSeen) {
      headerSeen = true;
      const columns = line.split(SEPARATOR);
      if (columns.length !== fields.length) {
        problems.push(`header has ${columns.length} columns for ${fields.length} fields`);
        return { rows, problems };
      }
      units = columns.map((column) => /\s\[([^\]]+)\]$/.exec(column.trim())?.[1] ?? null);
      continue;
    }

    const parts = splitLine(line, fields.length, nameIndex);
    if (!parts) {
      problems.push(
        `line ${lineNo}: ${line.split(SEPARATOR).length} values for ${fields.length} fields: ${JSON.stringify(truncate(line, 300))}`,
      );
      continue;
    }
    const row: TQueryGpuRow = {};
    fields.forEach((field, i) => {
      const raw = stripUnit((parts[i] ?? '').trim(), units[i] ?? null);
      if (isUnknownToken(raw)) {
        if (!BENIGN_TOKENS.has(raw)) problems.push(`line ${lineNo}: ${field} is ${raw}`);
        row[field] = null;
      } else {
        row[field] = raw;
      }
    });
    rows.push(row);
  }
  return { rows, problems };
}

function splitLine(line: string, fieldCount: number, nameIndex: number | undefined): string[] | null {
  const parts = line.split(SEPARATOR);
  if (parts.length === fieldCount) return parts;
  if (parts.length < fieldCount || nameIndex === undefined) return null;
  const surplus = parts.length - fieldCount;
  const name = parts.slice(nameIndex, nameIndex + surplus + 1).join(SEPARATOR);
  return [...parts.slice(0, nameIndex), name, ...parts.slice(nameIndex + surplus + 1)];
}

/** Only strips the unit the header announced for that column, so "abc MiB" stays unparsable. */
function stripUnit(value: string, unit: string | null): string {
  if (unit && value.endsWith(` ${unit}`)) return value.slice(0, -unit.length - 1);
  return value;
}

function truncate(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
