// deploy/kubernetes/prometheusrule.yaml is deploy/prometheus/alerts.yaml wrapped in the Prometheus
// Operator's PrometheusRule resource: the same groups, comments kept. `npm run deploy:rules` writes
// it; test/unit/deploy/observability-assets.test.ts fails when the two files' rules differ.
import { format, resolveConfig } from 'prettier';
import { Document, parseDocument } from 'yaml';

export const ALERTS_FILE = 'deploy/prometheus/alerts.yaml';
export const PROMETHEUS_RULE_FILE = 'deploy/kubernetes/prometheusrule.yaml';

const HEADER = ` Generated from ${ALERTS_FILE} by \`npm run deploy:rules\`; do not edit by hand (a unit test
 fails when the two differ). Edit alerts.yaml, then run the script.

 The Prometheus Operator loads these rules; it needs the monitoring.coreos.com CRDs (remove this
 file from kustomization.yaml otherwise). If your Prometheus selects PrometheusRules by label (for
 example release: prometheus with kube-prometheus-stack), add that label here. runbook_url is
 relative to the repository root (deploy/README.md, "Alerts", says how to make it a link).`;

/** The PrometheusRule for the rule file `alertsText`, formatted as prettier would. */
export async function renderPrometheusRule(alertsText: string, root: URL): Promise<string> {
  const alerts = parseDocument(alertsText, { uniqueKeys: true });
  if (alerts.errors.length > 0) throw new Error(`${ALERTS_FILE}: ${alerts.errors[0]?.message}`);
  const rule = new Document({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: {
      name: 'kafka-mirror',
      labels: {
        'app.kubernetes.io/name': 'kafka-mirror',
        'app.kubernetes.io/component': 'replicator',
      },
    },
    spec: {},
  });
  rule.setIn(['spec', 'groups'], alerts.get('groups', true));
  rule.commentBefore = HEADER;
  const path = new URL(PROMETHEUS_RULE_FILE, root);
  const options = (await resolveConfig(path)) ?? {};
  return format(rule.toString({ lineWidth: 0 }), { ...options, parser: 'yaml' });
}
