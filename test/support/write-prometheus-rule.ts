// `npm run deploy:rules`: regenerates deploy/kubernetes/prometheusrule.yaml from deploy/prometheus/alerts.yaml.
import { readFileSync, writeFileSync } from 'node:fs';
import { ALERTS_FILE, PROMETHEUS_RULE_FILE, renderPrometheusRule } from './prometheus-rule.ts';

const root = new URL('../../', import.meta.url);
const rendered = await renderPrometheusRule(readFileSync(new URL(ALERTS_FILE, root), 'utf8'), root);
writeFileSync(new URL(PROMETHEUS_RULE_FILE, root), rendered);
