// The Permissions tables of docs/operations.md as ACL bindings: the one source of truth of what the
// mirror's principal needs per feature. test/integration/permissions.test.ts grants exactly these
// on real brokers and runs a flow; test/unit/permissions-docs.test.ts checks every table parses.
import { readFileSync } from 'node:fs';

const OPERATIONS_DOC = new URL('../../docs/operations.md', import.meta.url);

// kafkajs's ACL enums (types/index.d.ts), by value; the keys are kafka-acls.sh's spellings.
const RESOURCES = { Topic: 2, Group: 3, Cluster: 4, TransactionalId: 5 } as const;
const PATTERNS = { literal: 3, prefixed: 4 } as const;
const OPERATIONS = {
  All: 2,
  Read: 3,
  Write: 4,
  Create: 5,
  Delete: 6,
  Alter: 7,
  Describe: 8,
  DescribeConfigs: 10,
  AlterConfigs: 11,
  IdempotentWrite: 12,
} as const;
const ALLOW = 3;

/** The features with a table, by their heading under "## Permissions". */
export const PERMISSION_FEATURES = [
  'At least once',
  'Topic creation',
  'Heartbeats',
  'Exactly once',
  'Group offset sync',
  'Topic config sync',
  'ACL sync',
] as const;
export type PermissionFeature = (typeof PERMISSION_FEATURES)[number];

/** The placeholders a table's names may use; the test gives each its value. */
export const PLACEHOLDERS = [
  '<topic>',
  '<remote topic>',
  '<group>',
  '<synced group>',
  '<positions topic>',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export interface PermissionRow {
  readonly cluster: 'source' | 'target';
  readonly resource: keyof typeof RESOURCES;
  readonly pattern: keyof typeof PATTERNS;
  /** As documented, placeholders included, without backticks. */
  readonly name: string;
  readonly operations: ReadonlyArray<keyof typeof OPERATIONS>;
}

/** An ACL binding as kafkajs's admin.createAcls and describeAcls take and give it. */
export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly resourcePatternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

function oneOf<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(
      `docs/operations.md Permissions: unknown ${what} "${value}" (one of ${allowed.join(', ')})`,
    );
  return value as T;
}

/** The rows of one feature's table, parsed and checked (an unknown word throws). */
export function permissionTable(
  feature: PermissionFeature,
  doc = readFileSync(OPERATIONS_DOC, 'utf8'),
): PermissionRow[] {
  const section = doc.split(/^## /m).find((s) => s.startsWith('Permissions\n'));
  if (section === undefined) throw new Error('docs/operations.md has no "## Permissions" section');
  const part = section.split(/^### /m).find((s) => s.startsWith(`${feature}\n`));
  if (part === undefined) throw new Error(`docs/operations.md Permissions has no "### ${feature}" table`);
  const rows = part
    .split('\n')
    .filter((line) => /^\|\s*(source|target)\s*\|/.test(line))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
  if (rows.length === 0) throw new Error(`docs/operations.md Permissions, ${feature}: no rows`);
  return rows.map(([cluster = '', resource = '', pattern = '', name = '', operations = '']) => {
    const unquoted = name.replace(/^`|`$/g, '');
    for (const placeholder of unquoted.match(/<[^>]+>/g) ?? [])
      oneOf(placeholder, PLACEHOLDERS, 'placeholder');
    return {
      cluster: oneOf(cluster, ['source', 'target'], 'cluster'),
      resource: oneOf(resource, Object.keys(RESOURCES) as Array<keyof typeof RESOURCES>, 'resource'),
      pattern: oneOf(pattern, Object.keys(PATTERNS) as Array<keyof typeof PATTERNS>, 'pattern'),
      name: unquoted,
      operations: operations
        .split(',')
        .map((op) =>
          oneOf(op.trim(), Object.keys(OPERATIONS) as Array<keyof typeof OPERATIONS>, 'operation'),
        ),
    };
  });
}

/**
 * The ALLOW bindings of `rows` for `principal`, per cluster, with each placeholder replaced by its
 * value in `names` (a placeholder without one throws: the test does not know what to grant).
 */
export function permissionBindings(
  rows: readonly PermissionRow[],
  names: Partial<Record<Placeholder, string>>,
  principal: string,
): { source: AclBinding[]; target: AclBinding[] } {
  const out: { source: AclBinding[]; target: AclBinding[] } = { source: [], target: [] };
  for (const row of rows) {
    const name = row.name.replace(/<[^>]+>/g, (placeholder) => {
      const value = names[placeholder as Placeholder];
      if (value === undefined)
        throw new Error(`no value given for ${placeholder} (${row.resource} ${row.name})`);
      return value;
    });
    for (const operation of row.operations)
      out[row.cluster].push({
        resourceType: RESOURCES[row.resource],
        resourceName: name,
        resourcePatternType: PATTERNS[row.pattern],
        principal,
        host: '*',
        operation: OPERATIONS[operation],
        permissionType: ALLOW,
      });
  }
  return out;
}
