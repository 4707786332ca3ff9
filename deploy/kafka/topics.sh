#!/usr/bin/env bash
# Creates the event topics and their dead-letter topics (never auto-created): unlimited retention,
# because the audit replay and read-model rebuilds read from offset 0. The services create the
# same topics with the same retention when missing (`kafka::admin::ensure_topics`); this is for
# deployments that create topics beforehand. A namespace (`--kafka-namespace`, e.g. `.staging`)
# is appended to every name. Never change a live topic's partition count: keys would move to
# partitions whose dedupe watermarks do not cover their republished copies.
# Usage: topics.sh BOOTSTRAP [PARTITIONS] [REPLICATION] [NAMESPACE]
set -euo pipefail
bootstrap=${1:?bootstrap servers}
partitions=${2:-6}
replication=${3:-1}
ns=${4:-}
create() {
  kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$1" \
    --partitions "$2" --replication-factor "$replication" \
    --config retention.ms=-1 --config retention.bytes=-1 --config min.insync.replicas=1
}
# Each events topic with the projectors (consumer groups) that read it.
for spec in "registry:mara employment-intake" "employment:employment-views"; do
  context=${spec%%:*}
  topic="bottomline.$context.events.v1$ns"
  create "$topic" "$partitions"
  for projector in ${spec#*:}; do
    create "$topic.$projector.dlq" 1
  done
done
