#!/bin/bash
# Slurm's node health check with rackqual: in slurm.conf
#
#   HealthCheckProgram=/etc/slurm/rackqual-healthcheck.sh   (this file, installed)
#   HealthCheckInterval=600
#   HealthCheckNodeState=IDLE          (check nodes between jobs, never under a running job)
#
# slurmd runs it as root on every node. An unhealthy node is drained with the failing check and
# figure as its reason ("rackqual health: gemm-fp32 node017 gpu 3: ..."), and resumed once
# healthy if rackqual drained it; a node that could not be assessed is never drained. Records
# go to RACKQUAL_HEALTH_OUT when set, and a Prometheus textfile to RACKQUAL_HEALTH_PROM.
# Arguments go to rackqual health as they are (e.g. --node, --suite, --backend cuda).
set -u
args=(health --drain --timeout "${RACKQUAL_HEALTH_TIMEOUT:-120}")
if [ -n "${RACKQUAL_HEALTH_OUT:-}" ]; then args+=(--out "$RACKQUAL_HEALTH_OUT"); fi
if [ -n "${RACKQUAL_HEALTH_PROM:-}" ]; then args+=(--prometheus "$RACKQUAL_HEALTH_PROM"); fi
exec "${RACKQUAL:-rackqual}" "${args[@]}" "$@"
