// The tier-mutation module (src/domain/tiers/tier-state.ts) is the only writer of a tier's pause,
// of its concurrency bounds and of TemporaryLimit rows; capacity/write-share.ts is the only writer
// of CapacityShare rows. This reads every source file with the TypeScript parser and fails on a
// Prisma write that touches them anywhere else, or on raw SQL that writes those tables.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '../src');
const MODULE = 'domain/tiers/tier-state.ts';
const SHARE_MODULE = 'domain/capacity/write-share.ts';
const WRITES = new Set([
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
]);
const PAUSE_FIELDS = new Set([
  'pausedAt',
  'pausedBy',
  'pausedByKind',
  'pauseReason',
  'resumeAt',
  'pauseVersion',
  'concurrencyPerTier',
  'concurrencyPerSubject',
]);
const RAW_WRITE = /\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(TemporaryLimit|Tier|CapacityShare)"?\s/i;
const isShareWrite = (w: string) => /capacityshare/i.test(w);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

/** Offending writes in one file's text: "line: what". */
export function tierStateWrites(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (n: ts.Node) => `${sf.getLineAndCharacterOfPosition(n.getStart()).line + 1}`;
  const visit = (n: ts.Node) => {
    if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && WRITES.has(n.expression.name.text)) {
      const target = n.expression.expression;
      // tx.tier, tx['tier'], or a delegate taken out of the client first (const { tier } = tx).
      const model = ts.isPropertyAccessExpression(target)
        ? target.name.text
        : ts.isElementAccessExpression(target) && ts.isStringLiteral(target.argumentExpression)
          ? target.argumentExpression.text
          : ts.isIdentifier(target)
            ? target.text
            : null;
      if (model === 'temporaryLimit' || model === 'capacityShare')
        found.push(`${at(n)}: ${model}.${n.expression.name.text}`);
      if (model === 'tier') {
        const arg = n.arguments[0];
        const props = arg && ts.isObjectLiteralExpression(arg) ? arg.properties : [];
        // The fields written: data (update, create) or create/update (upsert); a spread there hides which.
        for (const p of props) {
          if (!p.name || !ts.isIdentifier(p.name) || !['data', 'create', 'update'].includes(p.name.text)) continue;
          const value = ts.isPropertyAssignment(p) ? p.initializer : null;
          if (!value || !ts.isObjectLiteralExpression(value)) {
            found.push(`${at(p)}: tier.${n.expression.name.text} with a ${p.name.text} that is not an object literal`);
            continue;
          }
          const walk = (o: ts.ObjectLiteralExpression): void => {
            for (const q of o.properties) {
              if (ts.isSpreadAssignment(q)) {
                const e = q.expression;
                // `...(cond ? { a } : {})` is read through; any other spread could carry pause fields.
                const inner =
                  ts.isParenthesizedExpression(e) && ts.isConditionalExpression(e.expression)
                    ? [e.expression.whenTrue, e.expression.whenFalse]
                    : [e];
                for (const x of inner)
                  if (ts.isObjectLiteralExpression(x)) walk(x);
                  else
                    found.push(
                      `${at(q)}: tier.${(n.expression as ts.PropertyAccessExpression).name.text} spreads ${x.getText(sf)}`,
                    );
              } else if (
                q.name &&
                (ts.isIdentifier(q.name) || ts.isStringLiteral(q.name)) &&
                PAUSE_FIELDS.has(q.name.text)
              ) {
                found.push(
                  `${at(q)}: tier.${(n.expression as ts.PropertyAccessExpression).name.text} writes ${q.name.text}`,
                );
              }
            }
          };
          walk(value);
        }
      }
    }
    if (
      (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateHead(n)) &&
      RAW_WRITE.test(n.text)
    )
      found.push(`${at(n)}: raw SQL writes ${RAW_WRITE.exec(n.text)![2]}`);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

describe('tier state has one writer', () => {
  it(`no file in packages/api/src but ${MODULE} writes Tier pause or concurrency fields or TemporaryLimit rows, and none but ${SHARE_MODULE} CapacityShare rows`, () => {
    const offenders = files(SRC).flatMap((f) => {
      const rel = relative(SRC, f);
      return tierStateWrites(f, readFileSync(f, 'utf8'))
        .filter((w) => (isShareWrite(w) ? rel !== SHARE_MODULE : rel !== MODULE))
        .map((w) => `${rel}:${w}`);
    });
    expect(offenders).toEqual([]);
  });

  it(`${SHARE_MODULE} is seen writing CapacityShare, and the old configure-capacity writes would be caught`, () => {
    expect(
      tierStateWrites(SHARE_MODULE, readFileSync(join(SRC, SHARE_MODULE), 'utf8')).filter(isShareWrite).length,
    ).toBeGreaterThanOrEqual(3);
    const old = `
      await tx.capacityShare.deleteMany({});
      await tx.capacityShare.createMany({ data: [] });
      await tx.tier.update({ where: { id }, data: { concurrencyPerTier: 4 } });
      await db.$executeRawUnsafe('UPDATE "CapacityShare" SET "reserved" = 0');`;
    expect(tierStateWrites('old.ts', old)).toEqual([
      '2: capacityShare.deleteMany',
      '3: capacityShare.createMany',
      '4: tier.update writes concurrencyPerTier',
      '5: raw SQL writes CapacityShare',
    ]);
  });

  it('the module itself is seen writing them (the check reads what it claims to)', () => {
    expect(tierStateWrites(MODULE, readFileSync(join(SRC, MODULE), 'utf8')).length).toBeGreaterThanOrEqual(4);
  });

  it('catches the writes of the code before the module (old pause-tier, manage-tiers, config-sync, guard)', () => {
    const old = `
      await tx.tier.update({ where: { id: tier.id }, data: { pausedAt: now, pausedBy: actorName(ctx.actor), pauseReason: req.reason, resumeAt: req.resumeAt ?? null, pauseVersion: version } });
      await tx.tier.update({ where: { id: tier.id }, data: { ...(req.name ? { name: req.name } : {}), ...(req.retired ? { pausedAt: null, pausedBy: null } : {}) } });
      await tx.tier.updateMany({ where: { id: tier.id }, data: UNPAUSED });
      await tx.temporaryLimit.create({ data: { tierId: tier.id, window: step.window, limit: step.limit, until, reason, createdBy: GUARD_NAME } });
      await db.$executeRawUnsafe('UPDATE "Tier" SET "pausedAt" = NULL');
      await tx.tier.update({ where: { id: tier.id }, data: { name: 'renamed' } });
      await tx['temporaryLimit'].updateMany({ where: { tierId }, data: { clearedAt: now } });
      const { tier: tiers, temporaryLimit } = tx; await temporaryLimit.deleteMany({});
      const tier = tx.tier; await tier.update({ where: { id }, data: { resumeAt: null } });`;
    expect(tierStateWrites('old.ts', old)).toEqual([
      '2: tier.update writes pausedAt',
      '2: tier.update writes pausedBy',
      '2: tier.update writes pauseReason',
      '2: tier.update writes resumeAt',
      '2: tier.update writes pauseVersion',
      '3: tier.update writes pausedAt',
      '3: tier.update writes pausedBy',
      '4: tier.updateMany with a data that is not an object literal',
      '5: temporaryLimit.create',
      '6: raw SQL writes Tier',
      '8: temporaryLimit.updateMany',
      '9: temporaryLimit.deleteMany',
      '10: tier.update writes resumeAt',
    ]);
  });
});
