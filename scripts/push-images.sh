#!/usr/bin/env bash
# Builds every image the local stack runs and pushes it to a registry, printing one line per image
# with the reference by digest that the stack deploys:
#   agent, sandbox-manager, sandbox, stand-in-model  targets of agent-image/Dockerfile
#   redis                                             e2e/images/redis/Containerfile
#   jaeger (the local trace viewer)                   e2e/images/jaeger/Containerfile, binary from
#                                                     e2e/images/jaeger/build.sh (needs go; skipped without)
#   agent-<name>                                      a user's directory on agent-image/user-agent.Dockerfile
#   agentscope2-workspace                             target of agent-image/Dockerfile, the pods of 2.x agents'
#                                                     workspaces: with an agentscope2 directory agent below,
#                                                     or BUILD_WORKSPACE_IMAGE=1
#   egress-proxy                                      target of agent-image/Dockerfile, the sandboxes' egress
#                                                     proxy (sandbox.egress.mode allowList): BUILD_EGRESS_PROXY_IMAGE=1
# Images are built with podman from the debootstrap base (scripts/make-base-image.sh), or with
# docker when podman is absent (then BASE_IMAGE defaults to the official python image).
#
# Usage: scripts/push-images.sh OUT_FILE [NAME<TAB>DIR<TAB>APP[<TAB>FRAMEWORK] ...]
#        scripts/push-images.sh --build-only [NAME<TAB>DIR<TAB>APP[<TAB>FRAMEWORK] ...]
#   OUT_FILE gets lines NAME=REGISTRY/agentscope/NAME@sha256:... (shell-sourceable after quoting)
#   --build-only builds the same images into local storage and pushes nothing, so it needs no
#   registry: scripts/local.sh runs it while the toolchain compiles, and the later run with
#   OUT_FILE then finds every layer built and only pushes.
#   Each further argument is a directory agent of the stack config (agents[].source kind directory):
#   its DIR is built on the `user-agent-kit` target with AGENT_APP=APP and pushed as agent-NAME;
#   FRAMEWORK (agentscope-runtime, the default, or agentscope2) picks the final stage.
# Environment: E2E_REGISTRY, E2E_REGISTRY_USER, E2E_REGISTRY_PASSWORD (e2e/registry/registry.sh),
# SANDBOX_IMAGE_TAG (tag of runtime-sandbox-base, default e2e), BASE_IMAGE, BUILD_WORKSPACE_IMAGE,
# BUILD_EGRESS_PROXY_IMAGE.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 1 ]] || { echo "usage: $0 OUT_FILE|--build-only [NAME<TAB>DIR<TAB>APP[<TAB>FRAMEWORK] ...]" >&2; exit 2; }
out=$1
shift
build_only=0
if [[ $out == --build-only ]]; then
  build_only=1
else
  : "${E2E_REGISTRY:?start e2e/registry/registry.sh first}" "${E2E_REGISTRY_USER:?}" "${E2E_REGISTRY_PASSWORD:?}"
fi
log() { echo "[push-images] $*" >&2; }

# Neither engine on a Debian machine (a fresh one): podman is installed, as the embedded node does.
if ! command -v podman >/dev/null && ! command -v docker >/dev/null && command -v apt-get >/dev/null; then
  scripts/setup-podman.sh
fi
if command -v podman >/dev/null; then
  engine=podman
  base=${BASE_IMAGE:-localhost/bookworm-python:3.11}
  scripts/setup-podman.sh
  scripts/make-base-image.sh "$base" >&2
else
  command -v docker >/dev/null || { log "neither podman nor docker is installed"; exit 1; }
  engine=docker
  base=${BASE_IMAGE:-docker.io/library/python:3.11-slim-bookworm}
fi
# Behind a TLS-inspecting proxy pip in the build needs the host's trust store, as a build secret.
ca=/etc/ssl/certs/ca-certificates.crt
secret=()
[[ -f $ca ]] && secret=(--secret "id=pip-ca,src=$ca")

build() { # name context [build args...]
  local name=$1 context=$2
  shift 2
  $engine build --quiet "${secret[@]}" --build-arg "BASE_IMAGE=$base" -t "localhost/agentscope-local/$name:build" "$@" "$context" >/dev/null
  log "built $name"
}

# Pushes and asks the registry for the digest (with the credentials), as the stack pins it.
push() { # name repository tag
  local name=$1 repo=$2 tag=$3 digest
  ((build_only)) && return 0
  if [[ $engine == podman ]]; then
    podman push --quiet --tls-verify=false --creds "$E2E_REGISTRY_USER:$E2E_REGISTRY_PASSWORD" \
      "localhost/agentscope-local/$name:build" "docker://$E2E_REGISTRY/$repo:$tag"
    digest="$(skopeo inspect --tls-verify=false --creds "$E2E_REGISTRY_USER:$E2E_REGISTRY_PASSWORD" --format '{{.Digest}}' "docker://$E2E_REGISTRY/$repo:$tag")"
  else
    docker tag "localhost/agentscope-local/$name:build" "$E2E_REGISTRY/$repo:$tag"
    docker push --quiet "$E2E_REGISTRY/$repo:$tag" >/dev/null
    digest="$(docker image inspect --format '{{index .RepoDigests 0}}' "$E2E_REGISTRY/$repo:$tag")"
    digest="${digest#*@}"
  fi
  [[ $digest == sha256:* ]] || { log "$name: no digest from the registry"; exit 1; }
  echo "$name=$E2E_REGISTRY/$repo@$digest" >>"$out.tmp"
  log "pushed $name: $E2E_REGISTRY/$repo@$digest"
}

((build_only)) || : >"$out.tmp"
# The content decides the tag (a hash of the image id), never `latest`, so re-pushing identical
# content is a no-op and tags never move.
content_tag() { $engine image inspect --format '{{.Id}}' "localhost/agentscope-local/$1:build" | sed 's/^sha256://' | cut -c1-16; }
for target in agent sandbox-manager stand-in-model; do
  build "$target" agent-image --target "$target"
  push "$target" "agentscope/$target" "$(content_tag "$target")"
done
build sandbox agent-image --target sandbox
# The manager pulls runtime-sandbox-<type>:<tag> (its own naming), so the tag here is the one the
# stack's sandbox.imageTag names; the stack pins the digest as well (sandbox.imageDigests).
push sandbox agentscope/runtime-sandbox-base "${SANDBOX_IMAGE_TAG:-e2e}"
build redis e2e/images/redis
push redis agentscope/redis "$(content_tag redis)"
# Jaeger: its binary is built on this machine from the Go module proxy (cached by version), then put
# on the base like the others. Without go there is no trace viewer, and no jaeger= line.
if command -v go >/dev/null; then
  jaeger_context="$(e2e/images/jaeger/build.sh | sed -n 's/^JAEGER_CONTEXT=//p')"
  [[ -n $jaeger_context ]] || { log "the Jaeger build failed"; exit 1; }
  build jaeger "$jaeger_context" -f e2e/images/jaeger/Containerfile
  push jaeger agentscope/jaeger "$(content_tag jaeger)"
else
  log "no go command: skipping the Jaeger trace viewer image"
fi
# Users' directories: the kit stays in local storage (the builds take it FROM there), each agent is
# pushed. Layers are ordered so that a code-only change rebuilds only the user-code layer.
if [[ $# -gt 0 ]]; then
  build user-agent-kit agent-image --target user-agent-kit
  for spec in "$@"; do
    IFS=$'\t' read -r name dir app framework <<<"$spec"
    [[ -n $name && -d $dir && -n $app ]] || { log "bad directory agent spec: $spec"; exit 1; }
    # The final stages of agent-image/user-agent.Dockerfile (components/workload/agent-source.ts USER_AGENT_TARGETS).
    case ${framework:-agentscope-runtime} in
      agentscope-runtime) target=user-agent ;;
      agentscope2) target=user-agent-agentscope2 ;;
      *) log "unknown framework $framework for agent $name (agentscope-runtime or agentscope2)"; exit 1 ;;
    esac
    build "agent-$name" "$dir" -f agent-image/user-agent.Dockerfile --target "$target" \
      --build-arg "KIT_IMAGE=localhost/agentscope-local/user-agent-kit:build" --build-arg "AGENT_APP=$app"
    push "agent-$name" "agentscope/agent-$name" "$(content_tag "agent-$name")"
    if [[ $target == user-agent-agentscope2 ]]; then BUILD_WORKSPACE_IMAGE=1; fi
  done
fi
# The pods 2.x agents' workspaces run in (agentscope2_launcher/k8s_workspaces.py).
if [[ ${BUILD_WORKSPACE_IMAGE:-0} == 1 ]]; then
  build agentscope2-workspace agent-image --target agentscope2-workspace
  push agentscope2-workspace agentscope/agentscope2-workspace "$(content_tag agentscope2-workspace)"
fi
# The sandboxes' egress proxy (components/workload/egress-proxy.ts), with sandbox.egress.mode allowList.
if [[ ${BUILD_EGRESS_PROXY_IMAGE:-0} == 1 ]]; then
  build egress-proxy agent-image --target egress-proxy
  push egress-proxy agentscope/egress-proxy "$(content_tag egress-proxy)"
fi
((build_only)) || mv "$out.tmp" "$out"
