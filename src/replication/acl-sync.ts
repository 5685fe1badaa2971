// Topic ACL sync of a flow (`aclSync.enabled`): at each topic refresh, the source's READ and
// DESCRIBE ACLs of the topics the flow replicates are created on their remote topics. Follows
// MirrorMaker 2's MirrorSourceConnector (syncTopicAcls, shouldReplicateAcl, targetAclBinding):
// an ALLOW of ALL becomes READ, WRITE is never copied, nothing is ever deleted. Narrower than it:
// only READ and DESCRIBE (MirrorMaker 2 copies every operation but ALLOW WRITE), and prefixed ACLs
// too (MirrorMaker 2 copies literal ones only).
import type { FlowConfig } from '../config/index.ts';
import { AclSyncRefusedError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { FlowMetrics } from '../observability/metrics.ts';
import { flowTopicFilter, remoteTopicOf } from './topic-selection.ts';

/** One topic ACL binding, as kafka/acl-admin.ts reads and writes it (Kafka's upper-case names). */
export interface TopicAcl {
  /** `LITERAL`: the topic `name`; `PREFIXED`: every topic whose name starts with `name`. */
  readonly pattern: 'LITERAL' | 'PREFIXED';
  readonly name: string;
  readonly principal: string;
  readonly host: string;
  /** Kafka's operation name: `READ`, `DESCRIBE`, `ALL`, `WRITE`, ... */
  readonly operation: string;
  readonly permission: 'ALLOW' | 'DENY';
}

/**
 * The topic ACLs of one cluster (implemented by kafka/acl-admin.ts). Both reject with an
 * AclSyncRefusedError when the cluster refuses (no authorizer, not authorized).
 */
export interface AclCatalog {
  topicAcls(): Promise<TopicAcl[]>;
  /** Creates every binding in one request. */
  createAcls(acls: readonly TopicAcl[]): Promise<void>;
}

/** What /status shows of a flow's ACL sync. */
export interface AclSyncStatus {
  /** ACL bindings this instance created on the target since it started. */
  readonly created: number;
  /** The refusal ACL sync is under, if any: which cluster, what request, Kafka's error, since when. */
  readonly refused: { cluster: string; request: string; kafkaError: string; since: string } | null;
}

const key = (acl: TopicAcl) =>
  [acl.pattern, acl.name, acl.principal, acl.host, acl.operation, acl.permission].join('\u0000');

/**
 * The ACL on the remote topic(s) for a source ACL, or undefined when it is not copied. Only READ
 * and DESCRIBE, and ALL as READ (MirrorMaker 2's downgradeAllowAllACL): a consumer's rights, never
 * a producer's. A DENY is copied as its ALLOW would be (MirrorMaker 2 copies DENYs too), so a
 * source that narrows a broad ALLOW with a DENY is not widened on the target; a DENY of ALL
 * becomes a DENY of READ, so it never stops the mirror's own writes.
 */
function remoteAcl(acl: TopicAcl, remoteName: string): TopicAcl | undefined {
  const operation = acl.operation === 'ALL' ? 'READ' : acl.operation;
  if (operation !== 'READ' && operation !== 'DESCRIBE') return undefined;
  return { ...acl, name: remoteName, operation };
}

/**
 * The ACLs the target should have for the flow: of each source topic the flow replicates
 * (`replicated`, from the topic refresh; literal ACLs) and of each prefix that, taken as a topic
 * name, the flow selects (prefixed ACLs; as MirrorMaker 2 filters a literal ACL by its name). The
 * wildcard topic `*` is never copied: on the target it would cover every topic.
 */
export function targetAcls(
  flow: Pick<FlowConfig, 'naming' | 'source' | 'target' | 'stackPrefixes' | 'topics'>,
  aliases: readonly string[],
  sourceAcls: readonly TopicAcl[],
  replicated: readonly string[],
): TopicAcl[] {
  const selected = flowTopicFilter(flow);
  const topics = new Set(replicated.filter(selected));
  const out = new Map<string, TopicAcl>();
  for (const acl of sourceAcls) {
    const inScope = acl.pattern === 'LITERAL' ? topics.has(acl.name) : selected(acl.name);
    if (!inScope || acl.name === '*') continue;
    const remote = remoteAcl(acl, remoteTopicOf(flow, acl.name, aliases));
    if (remote !== undefined) out.set(key(remote), remote);
  }
  return [...out.values()];
}

/**
 * A flow's ACL sync. `sync` runs after each topic refresh pass and never rejects: a refusal is
 * logged and counted once (until it works again), any other failure is logged and retried at the
 * next refresh; replication never waits on it.
 */
export class AclSync {
  readonly #flow: FlowConfig;
  readonly #aliases: readonly string[];
  readonly #source: AclCatalog;
  readonly #target: AclCatalog;
  readonly #metrics: FlowMetrics;
  readonly #logger: Logger;
  #created = 0;
  #refused: { error: AclSyncRefusedError; since: Date } | undefined;

  constructor(init: {
    flow: FlowConfig;
    aliases: readonly string[];
    catalogs: { readonly source: AclCatalog; readonly target: AclCatalog };
    metrics: FlowMetrics;
    logger: Logger;
  }) {
    this.#flow = init.flow;
    this.#aliases = init.aliases;
    this.#source = init.catalogs.source;
    this.#target = init.catalogs.target;
    this.#metrics = init.metrics;
    this.#logger = init.logger;
  }

  status(): AclSyncStatus {
    const refused = this.#refused;
    return {
      created: this.#created,
      refused:
        refused === undefined
          ? null
          : {
              cluster: refused.error.cluster,
              request: refused.error.request,
              kafkaError: refused.error.kafkaError,
              since: refused.since.toISOString(),
            },
    };
  }

  /** Creates on the target what the source has for the `replicated` topics and the target lacks. */
  async sync(replicated: readonly string[]): Promise<void> {
    try {
      const wanted = targetAcls(this.#flow, this.#aliases, await this.#source.topicAcls(), replicated);
      const existing = new Set((await this.#target.topicAcls()).map(key));
      const missing = wanted.filter((acl) => !existing.has(key(acl)));
      if (missing.length > 0) await this.#target.createAcls(missing);
      this.#recovered();
      for (const acl of missing) this.#logCreated(acl);
      this.#created += missing.length;
      this.#metrics.aclSynced('created', missing.length);
    } catch (error) {
      if (error instanceof AclSyncRefusedError) this.#refusedBy(error);
      else this.#logger.warn({ err: error }, 'topic ACL sync failed; will retry at the next topic refresh');
    }
  }

  #logCreated(acl: TopicAcl): void {
    this.#logger.info(
      {
        remoteTopic: acl.name,
        pattern: acl.pattern,
        principal: acl.principal,
        host: acl.host,
        operation: acl.operation,
        permission: acl.permission,
      },
      'created topic ACL on the target',
    );
  }

  /** Reported once per refusal (cluster, request and error): never at every refresh. */
  #refusedBy(error: AclSyncRefusedError): void {
    const current = this.#refused?.error;
    const same =
      current !== undefined &&
      current.cluster === error.cluster &&
      current.request === error.request &&
      current.kafkaError === error.kafkaError;
    if (same) return;
    this.#refused = { error, since: new Date() };
    this.#metrics.aclSynced('refused', 1);
    this.#logger.warn(
      { err: error, cluster: error.cluster },
      'topic ACL sync refused; replication goes on without it (see the runbook: ACL sync refused)',
    );
  }

  #recovered(): void {
    if (this.#refused === undefined) return;
    this.#refused = undefined;
    this.#logger.info('topic ACL sync no longer refused');
  }
}
