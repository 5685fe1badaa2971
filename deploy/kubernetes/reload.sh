#!/bin/sh
# Applies an edited config.yaml to the running kafka-mirror pods by a reload, not a restart
# (deploy/README.md, "Changing the config"). Run it after `kubectl apply -k deploy/kubernetes`:
#
#   deploy/kubernetes/reload.sh [config.yaml]        (default: deploy/kubernetes/config.yaml)
#
# For each pod: waits until the kubelet has updated the mounted ConfigMap file to the content of
# the local file (up to a minute or so after the apply), sends SIGHUP to the daemon (PID 1 of the
# container), then waits for the reload's outcome in the pod's own metrics
# (kafka_mirror_config_reloads_total counts one more reload, and
# kafka_mirror_config_last_reload_successful says whether it applied). Exits 1 at the first pod
# whose file never updates or whose reload does not succeed (an invalid file: that pod keeps its
# previous config; a failed step: it runs the new one, not quite as asked); the reason is in its
# log (kubectl logs <pod>), and the pods after it are not signalled. Nothing here restarts a pod.
#
# Environment: NAMESPACE (default: kubectl's current), SELECTOR (pod labels, default
# app.kubernetes.io/name=kafka-mirror), CONFIG_PATH (the file in the pod, default
# /etc/kafka-mirror/config/config.yaml), ADMIN_PORT (9464), TRIES (60) and POLL_SECONDS (2): how
# long to wait for the file and for the outcome, KUBECTL (kubectl).
set -eu

config=${1:-deploy/kubernetes/config.yaml}
selector=${SELECTOR:-app.kubernetes.io/name=kafka-mirror}
mounted=${CONFIG_PATH:-/etc/kafka-mirror/config/config.yaml}
port=${ADMIN_PORT:-9464}
tries=${TRIES:-60}
poll=${POLL_SECONDS:-2}
kubectl=${KUBECTL:-kubectl}

k() {
  if [ -n "${NAMESPACE:-}" ]; then "$kubectl" --namespace "$NAMESPACE" "$@"; else "$kubectl" "$@"; fi
}

# The image is node:24-bookworm-slim: sha256sum and sh are there, curl is not (node fetches).
metrics() {
  k exec "$1" -- node -e "fetch('http://127.0.0.1:$port/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))"
}

# Sum of the samples of one metric in a Prometheus exposition on stdin (0 when absent).
sample_sum() {
  awk -v name="$1" '$1 == name || index($1, name "{") == 1 { sum += $NF } END { printf "%d\n", sum }'
}

[ -r "$config" ] || { echo "reload.sh: cannot read $config" >&2; exit 2; }
want=$(sha256sum <"$config" | cut -d ' ' -f 1)
pods=$(k get pods -l "$selector" --field-selector=status.phase=Running -o name)
[ -n "$pods" ] || { echo "reload.sh: no running pod matches $selector" >&2; exit 1; }

for pod in $pods; do
  n=0
  until [ "$(k exec "$pod" -- sha256sum "$mounted" | cut -d ' ' -f 1)" = "$want" ]; do
    n=$((n + 1))
    if [ "$n" -ge "$tries" ]; then
      echo "$pod: $mounted is not $config yet; was the ConfigMap applied? Not reloaded." >&2
      exit 1
    fi
    sleep "$poll"
  done
  before=$(metrics "$pod" | sample_sum kafka_mirror_config_reloads_total)
  k exec "$pod" -- sh -c 'kill -HUP 1'
  n=0
  until [ "$(metrics "$pod" | sample_sum kafka_mirror_config_reloads_total)" -gt "$before" ]; do
    n=$((n + 1))
    if [ "$n" -ge "$tries" ]; then
      echo "$pod: no reload counted after SIGHUP; see kubectl logs $pod" >&2
      exit 1
    fi
    sleep "$poll"
  done
  if [ "$(metrics "$pod" | sample_sum kafka_mirror_config_last_reload_successful)" -ne 1 ]; then
    echo "$pod: the reload did not succeed (invalid, or a step failed). Why: kubectl logs $pod" >&2
    exit 1
  fi
  echo "$pod: reloaded"
done
