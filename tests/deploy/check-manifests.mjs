#!/usr/bin/env node
// Checks rendered kustomize builds offline: every object against the pinned JSON schemas in
// schemas/, then against our deployment policy. One line per problem, "BUILD: Kind/name: what";
// exit 1 if there is any.
//
//   check-manifests.mjs ENV:BUILD:FILE...   e.g. stg:stg:/tmp/stg.yaml prod:prod+keda:/tmp/k.yaml
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { parseAllDocuments } from 'yaml';

// potato, tomato and pepper have 1 partition each in the stock LIMS cluster: a consumer group
// can use at most this many members.
const PARTITIONS = 3;
const NAMESPACES = new Set(['leaf-image-management-system', 'metrics']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);

// --- schemas -------------------------------------------------------------------------------

/** An Ajv with every schema file loaded, and apiVersion/kind -> schema reference. */
function loadSchemas() {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'schemas');
  const ajv = new Ajv({ strict: false, allErrors: true });
  const int = (bits) => ({ type: 'number', validate: (n) => Number.isInteger(n) && Math.abs(n) < 2 ** (bits - 1) });
  ajv.addFormat('int32', int(32));
  ajv.addFormat('int64', int(64));
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i);
  // A Kubernetes resource.Quantity: "100m", "128Mi", "1", "1e3".
  ajv.addFormat('quantity', /^[+-]?(\d+|\d+\.\d*|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/);
  const kinds = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const schema = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    ajv.addSchema(schema);
    for (const [kind, def] of Object.entries(schema['x-kinds'] || {}))
      kinds[kind] = `${schema.$id}#/definitions/${def}`;
  }
  return { ajv, kinds };
}

/** Ajv's errors as short phrases, the nullable-alternative noise left out. */
function describe(errors) {
  const useful = errors.filter((e) => e.keyword !== 'oneOf' && !(e.keyword === 'type' && e.params.type === 'null'));
  const phrases = (useful.length ? useful : errors).map((e) => {
    const at = e.instancePath || '/';
    if (e.keyword === 'additionalProperties') return `${at}: unknown field "${e.params.additionalProperty}"`;
    if (e.keyword === 'required') return `${at}: missing required field "${e.params.missingProperty}"`;
    return `${at}: ${e.message}`;
  });
  // The deepest paths first: they name the field that is wrong.
  const depth = (p) => p.split('/').length;
  const unique = [...new Set(phrases)].sort((a, b) => depth(b.split(':')[0]) - depth(a.split(':')[0]));
  return unique.slice(0, 3).join('; ') + (unique.length > 3 ? ` (+${unique.length - 3} more)` : '');
}

// --- policy --------------------------------------------------------------------------------

/** The pod template of a workload, or null. */
function podSpec(obj) {
  switch (obj.kind) {
    case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'Job': case 'ReplicaSet':
      return obj.spec?.template;
    case 'CronJob':
      return obj.spec?.jobTemplate?.spec?.template;
    case 'Pod':
      return { metadata: obj.metadata, spec: obj.spec };
    default:
      return null;
  }
}

/** An image reference is pinned when it has a tag other than latest, or a digest. */
function imageProblem(image) {
  if (!image) return 'no image';
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return null;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon <= slash) return `image ${image} has no tag`;
  if (image.slice(colon + 1) === 'latest') return `image ${image} uses the tag latest`;
  return null;
}

/** The value of --flag in args ("--flag V" or "--flag=V"), or undefined. */
function flagValue(args, flag) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) return args[i + 1];
    if (args[i].startsWith(flag + '=')) return args[i].slice(flag.length + 1);
  }
  return undefined;
}

function policyProblems(obj, env) {
  const problems = [];
  const labels = obj.metadata?.labels || {};
  if (labels.env !== env) problems.push(`label env is ${labels.env === undefined ? 'missing' : `"${labels.env}"`}, want "${env}"`);
  if (!CLUSTER_SCOPED.has(obj.kind) && !NAMESPACES.has(obj.metadata?.namespace))
    problems.push(`namespace ${obj.metadata?.namespace ?? '(none)'} is not one of ${[...NAMESPACES].join(', ')}`);
  if (obj.kind === 'Service' && env === 'prod' && ['NodePort', 'LoadBalancer'].includes(obj.spec?.type))
    problems.push(`Service type ${obj.spec.type} in prod (the Ingress is the only way in)`);
  // kubectl apply keeps the whole object in an annotation, which may hold 256 KiB.
  if (['ConfigMap', 'Secret'].includes(obj.kind) && JSON.stringify(obj).length > 256 * 1024 - 4096)
    problems.push(`${JSON.stringify(obj).length} bytes: too large for kubectl apply's last-applied annotation`);
  if (obj.kind === 'HorizontalPodAutoscaler' && obj.spec?.maxReplicas > PARTITIONS)
    problems.push(`maxReplicas ${obj.spec.maxReplicas} exceeds the ${PARTITIONS} partitions`);
  if (obj.kind === 'ScaledObject' && (obj.spec?.maxReplicaCount ?? 100) > PARTITIONS)
    problems.push(`maxReplicaCount ${obj.spec?.maxReplicaCount ?? '(default 100)'} exceeds the ${PARTITIONS} partitions`);

  const template = podSpec(obj);
  if (!template) return problems;
  const pod = template.spec || {};
  if ((template.metadata?.labels || {}).env !== env) problems.push(`pod template label env is not "${env}"`);
  const podSec = pod.securityContext || {};
  const containers = [...(pod.initContainers || []), ...(pod.containers || [])];
  for (const c of containers) {
    const where = `container ${c.name}`;
    const sec = c.securityContext || {};
    for (const kind of ['requests', 'limits'])
      for (const res of ['cpu', 'memory'])
        if (c.resources?.[kind]?.[res] === undefined) problems.push(`${where}: no ${res} ${kind}`);
    const image = imageProblem(c.image);
    if (image) problems.push(`${where}: ${image}`);
    if ((sec.runAsNonRoot ?? podSec.runAsNonRoot) !== true) problems.push(`${where}: runAsNonRoot is not true`);
    if ((sec.runAsUser ?? podSec.runAsUser) === 0) problems.push(`${where}: runAsUser is 0`);
    if (sec.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sec.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (!(sec.capabilities?.drop || []).includes('ALL')) problems.push(`${where}: capabilities do not drop ALL`);
    const seccomp = (sec.seccompProfile ?? podSec.seccompProfile)?.type;
    if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) problems.push(`${where}: seccompProfile is ${seccomp ?? 'unset'}, want RuntimeDefault`);
    if (!(c.env || []).some((e) => e.name === 'ENV' && e.value === env)) problems.push(`${where}: no ENV=${env} variable`);
  }
  for (const c of pod.containers || []) {
    if (obj.kind === 'Deployment') {
      if (!c.livenessProbe) problems.push(`container ${c.name}: no livenessProbe`);
      if (!c.readinessProbe) problems.push(`container ${c.name}: no readinessProbe`);
    }
    const args = [...(c.command || []), ...(c.args || [])];
    if (args.includes('sync-batch')) {
      // Its checkpoint lives in the target store: no --state file, no volume to keep one on.
      if (flagValue(args, '--state') !== undefined)
        problems.push(`container ${c.name}: sync-batch --state (its checkpoint belongs in the target store)`);
      for (const m of c.volumeMounts || [])
        if (m.mountPath !== '/tmp') problems.push(`container ${c.name}: sync-batch mounts ${m.mountPath}; it keeps no state on a volume`);
    }
    if (args.includes('consume')) {
      const timeout = flagValue(args, '--shutdown-timeout');
      const grace = pod.terminationGracePeriodSeconds ?? 30;
      if (timeout === undefined) problems.push(`container ${c.name}: lims consume without an explicit --shutdown-timeout`);
      else if (!(grace > Number(timeout)))
        problems.push(`terminationGracePeriodSeconds ${grace} is not more than --shutdown-timeout ${timeout}`);
    }
  }
  return problems;
}

// --- main ----------------------------------------------------------------------------------

const builds = process.argv.slice(2).map((arg) => {
  const [env, name, ...file] = arg.split(':');
  return { env, name, file: file.join(':') };
});
if (!builds.length || builds.some((b) => !b.env || !b.name || !b.file)) {
  console.error('usage: check-manifests.mjs ENV:BUILD:FILE...');
  process.exit(2);
}
const { ajv, kinds } = loadSchemas();
let failures = 0;
let objects = 0;
for (const build of builds) {
  const fail = (obj, what) => {
    failures++;
    console.log(`${build.name}: ${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}: ${what}`);
  };
  for (const doc of parseAllDocuments(readFileSync(build.file, 'utf8'))) {
    if (doc.errors.length) {
      fail(null, `YAML: ${doc.errors[0].message}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    objects++;
    const ref = kinds[`${obj.apiVersion}/${obj.kind}`];
    if (!ref) fail(obj, `no pinned schema for ${obj.apiVersion} ${obj.kind} (add one to tests/deploy/schemas)`);
    else if (!ajv.validate(ref, obj)) fail(obj, `schema: ${describe(ajv.errors)}`);
    for (const p of policyProblems(obj, build.env)) fail(obj, p);
  }
}
if (failures) process.exit(1);
console.log(`check-manifests: ${objects} objects in ${builds.length} builds (${builds.map((b) => b.name).join(', ')}) match their schemas and the policy`);
