import type { Admin, AclEntry, Kafka as KafkaClient } from 'kafkajs';
import { AclSyncRefusedError } from '../errors/index.ts';
import type { AclCatalog, TopicAcl } from '../replication/acl-sync.ts';
import { protocolErrorType } from './client.ts';

// kafkajs's ACL enums (types/index.d.ts AclResourceTypes, ResourcePatternTypes, AclOperationTypes,
// AclPermissionTypes), by value: Kafka's own codes (org.apache.kafka.common.acl.AclOperation ...).
const TOPIC = 2;
const PATTERN = { ANY: 1, LITERAL: 3, PREFIXED: 4 } as const;
const OPERATIONS = [
  'UNKNOWN',
  'ANY',
  'ALL',
  'READ',
  'WRITE',
  'CREATE',
  'DELETE',
  'ALTER',
  'DESCRIBE',
  'CLUSTER_ACTION',
  'DESCRIBE_CONFIGS',
  'ALTER_CONFIGS',
  'IDEMPOTENT_WRITE',
] as const;
const PERMISSION = { ANY: 1, DENY: 2, ALLOW: 3 } as const;

/**
 * Kafka's answers that mean "ACL sync cannot work here" rather than "try again": no authorizer
 * (SecurityDisabledException; MirrorSourceConnector.listTopicAclBindings stops on it), or the
 * principal lacks DESCRIBE (DescribeAcls) or ALTER (CreateAcls) on the cluster resource.
 */
const REFUSALS = new Set(['SECURITY_DISABLED', 'CLUSTER_AUTHORIZATION_FAILED']);

/** The refusal an ACL request's failure is, as an AclSyncRefusedError; other failures unchanged. */
export function refusalOf(cluster: string, request: 'describe' | 'create', error: unknown): unknown {
  const type = protocolErrorType(error);
  return type !== undefined && REFUSALS.has(type)
    ? new AclSyncRefusedError(cluster, request, type, error)
    : error;
}

/**
 * The topic ACLs of one cluster, for topic ACL sync: lists them all (DescribeAcls with a filter
 * of any topic pattern, as MirrorSourceConnector's ANY_TOPIC_ACL) and creates bindings. Never
 * deletes any. Its own admin client, connected only for flows with `aclSync.enabled`.
 */
export class AclAdmin implements AclCatalog {
  readonly #alias: string;
  readonly #admin: Admin;
  #destroyed: Promise<void> | undefined;

  constructor(alias: string, kafka: KafkaClient) {
    this.#alias = alias;
    this.#admin = kafka.admin();
  }

  async connect(): Promise<void> {
    await this.#admin.connect();
  }

  /** Disconnects; nothing to drain (every request is awaited by its caller). Idempotent. */
  close(): Promise<void> {
    return this.destroy();
  }

  /** Disconnects at once: requests in flight reject. Idempotent. */
  destroy(): Promise<void> {
    this.#destroyed ??= this.#admin.disconnect();
    return this.#destroyed;
  }

  async topicAcls(): Promise<TopicAcl[]> {
    let resources;
    try {
      ({ resources } = await this.#admin.describeAcls({
        resourceType: TOPIC,
        resourcePatternType: PATTERN.ANY,
        operation: OPERATIONS.indexOf('ANY'),
        permissionType: PERMISSION.ANY,
      }));
    } catch (error) {
      throw refusalOf(this.#alias, 'describe', error);
    }
    const out: TopicAcl[] = [];
    for (const resource of resources) {
      // A filter of ANY pattern answers LITERAL and PREFIXED bindings only (MATCH is a filter).
      if (
        resource.resourcePatternType !== PATTERN.PREFIXED &&
        resource.resourcePatternType !== PATTERN.LITERAL
      )
        continue;
      const pattern = resource.resourcePatternType === PATTERN.PREFIXED ? 'PREFIXED' : 'LITERAL';
      for (const acl of resource.acls) {
        if (acl.permissionType !== PERMISSION.DENY && acl.permissionType !== PERMISSION.ALLOW) continue;
        const operation = OPERATIONS[acl.operation] ?? 'UNKNOWN';
        const permission = acl.permissionType === PERMISSION.DENY ? 'DENY' : 'ALLOW';
        const { principal, host } = acl;
        out.push({ pattern, name: resource.resourceName, principal, host, operation, permission });
      }
    }
    return out;
  }

  async createAcls(acls: readonly TopicAcl[]): Promise<void> {
    if (acls.length === 0) return;
    const entries = acls.map((acl): AclEntry => ({
      resourceType: TOPIC,
      resourceName: acl.name,
      resourcePatternType: PATTERN[acl.pattern],
      principal: acl.principal,
      host: acl.host,
      operation: OPERATIONS.indexOf(acl.operation as (typeof OPERATIONS)[number]),
      permissionType: PERMISSION[acl.permission],
    }));
    try {
      await this.#admin.createAcls({ acl: entries });
    } catch (error) {
      throw refusalOf(this.#alias, 'create', error);
    }
  }
}
