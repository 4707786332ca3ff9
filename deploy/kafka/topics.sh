#!/usr/bin/env bash
# Creates the event topics (never auto-created): unlimited retention, because the audit replay and
# read-model rebuilds read from offset 0. Usage: topics.sh BOOTSTRAP [PARTITIONS] [REPLICATION]
set -euo pipefail
bootstrap=${1:?bootstrap servers}
partitions=${2:-6}
replication=${3:-1}
for topic in bottomline.registry.events.v1; do
  kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists --topic "$topic" \
    --partitions "$partitions" --replication-factor "$replication" \
    --config retention.ms=-1 --config retention.bytes=-1 --config min.insync.replicas=1
  kafka-topics.sh --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$topic.mara.dlq" --partitions 1 --replication-factor "$replication" --config retention.ms=-1
done
