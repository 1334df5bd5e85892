# Sourced by scripts/deploy, scripts/undeploy and scripts/smoke: the kubectl they need.
#
# kubectl's own kustomize renders the manifests. They use Components (kustomize v3.7.0) and
# labels with includeTemplates (kustomize v4.5.5); kubectl bundles kustomize v4.5.7 from
# v1.25 on (v1.24 has v4.5.4), so kubectl v1.25 is the oldest that renders them.
LIMS_MIN_KUSTOMIZE=4.5.5
LIMS_MIN_KUBECTL=1.25

# version_at_least A B: true when version A (digits and dots) is B or later.
version_at_least() {
  [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1) == "$2" ]]
}

# require_kubectl WHO: exits 1 with a message saying what to install when kubectl is missing
# or renders kustomize too old for the manifests.
require_kubectl() {
  local who=$1 json kubectl_version kustomize_version
  command -v kubectl >/dev/null ||
    { echo "$who: error: kubectl not found: install kubectl v$LIMS_MIN_KUBECTL or later" >&2; exit 1; }
  json=$(kubectl version --client -o json 2>/dev/null) ||
    { echo "$who: error: 'kubectl version --client -o json' failed: is kubectl older than v1.21?" >&2; exit 1; }
  kubectl_version=$(sed -n 's/.*"gitVersion": *"v\([0-9][0-9.]*\).*/\1/p' <<<"$json" | head -1)
  kustomize_version=$(sed -n 's/.*"kustomizeVersion": *"v\{0,1\}\([0-9][0-9.]*\).*/\1/p' <<<"$json" | head -1)
  if [[ -n $kustomize_version ]]; then
    version_at_least "$kustomize_version" "$LIMS_MIN_KUSTOMIZE" && return 0
  elif [[ -n $kubectl_version ]]; then
    version_at_least "$kubectl_version" "$LIMS_MIN_KUBECTL" && return 0
  fi
  echo "$who: error: kubectl v${kubectl_version:-unknown} renders with kustomize v${kustomize_version:-unknown};" \
    "the manifests need kustomize v$LIMS_MIN_KUSTOMIZE or later (labels.includeTemplates), which" \
    "kubectl bundles from v$LIMS_MIN_KUBECTL on: install kubectl v$LIMS_MIN_KUBECTL or later" \
    "(gcloud components install kubectl)" >&2
  exit 1
}
