// The Permissions tables of docs/operations.md as ACL bindings: the one source of truth of what the
// mirror's principal needs per feature. test/integration/permissions.test.ts grants exactly these
// on real brokers and runs a flow; test/unit/permissions-docs.test.ts checks every table parses.
import { readFileSync } from 'node:fs';
import type { Kafka as KafkaClient } from 'kafkajs';
import { withAdmin } from './kafka-client.ts';

const OPERATIONS_DOC = new URL('../../docs/operations.md', import.meta.url);

/** kafkajs's ACL enums (types/index.d.ts), by value. */
export const RESOURCE = { ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5 } as const;
export const PATTERN = { ANY: 1, LITERAL: 3, PREFIXED: 4 } as const;
export const OPERATION = {
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;
export const PERMISSION = { ANY: 1, DENY: 2, ALLOW: 3 } as const;

// The same by kafka-acls.sh's spellings, as the tables write them.
const RESOURCES = {
  Topic: RESOURCE.TOPIC,
  Group: RESOURCE.GROUP,
  Cluster: RESOURCE.CLUSTER,
  TransactionalId: RESOURCE.TRANSACTIONAL_ID,
} as const;
const PATTERNS = { literal: PATTERN.LITERAL, prefixed: PATTERN.PREFIXED } as const;
const OPERATIONS = {
  All: OPERATION.ALL,
  Read: OPERATION.READ,
  Write: OPERATION.WRITE,
  Create: OPERATION.CREATE,
  Delete: OPERATION.DELETE,
  Alter: OPERATION.ALTER,
  Describe: OPERATION.DESCRIBE,
  DescribeConfigs: OPERATION.DESCRIBE_CONFIGS,
  AlterConfigs: OPERATION.ALTER_CONFIGS,
  IdempotentWrite: OPERATION.IDEMPOTENT_WRITE,
} as const;
const ALLOW = PERMISSION.ALLOW;

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

/** A binding of `principal` from any host, on a topic unless `resourceType` says otherwise. */
export const aclBinding = (
  resourceName: string,
  resourcePatternType: number,
  principal: string,
  operation: number,
  permissionType: number,
  resourceType: number = RESOURCE.TOPIC,
): AclBinding => ({
  resourceType,
  resourceName,
  resourcePatternType,
  principal,
  host: '*',
  operation,
  permissionType,
});

/** Creates `acls` on the cluster of `kafka` (a super user's client). */
export async function createAcls(kafka: KafkaClient, acls: readonly AclBinding[]): Promise<void> {
  await withAdmin(kafka, (a) => a.createAcls({ acl: acls as never }));
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
