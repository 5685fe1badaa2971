// Errors of topic ACL sync (src/replication/acl-sync.ts).
import { KafkaMirrorError } from './base.ts';

/**
 * A cluster refused what topic ACL sync needs: listing ACLs (no DESCRIBE on the cluster resource),
 * creating them on the target (no ALTER on the cluster resource), or it has no authorizer at all
 * (`SECURITY_DISABLED`). Replication goes on; ACL sync reports it once and tries again at each
 * topic refresh.
 */
export class AclSyncRefusedError extends KafkaMirrorError {
  static readonly code = 'KM_ACL_SYNC_REFUSED';
  /** The alias of the cluster that refused. */
  readonly cluster: string;
  /** What was refused: `describe` (listing ACLs) or `create`. */
  readonly request: 'describe' | 'create';
  /** Kafka's error name (`CLUSTER_AUTHORIZATION_FAILED`, `SECURITY_DISABLED`). */
  readonly kafkaError: string;
  constructor(cluster: string, request: 'describe' | 'create', kafkaError: string, cause: unknown) {
    super(AclSyncRefusedError.code, `cluster ${cluster} refused to ${request} ACLs: ${kafkaError}`, {
      cause,
    });
    this.cluster = cluster;
    this.request = request;
    this.kafkaError = kafkaError;
  }
}
