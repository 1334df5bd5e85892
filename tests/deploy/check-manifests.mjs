#!/usr/bin/env node
// Checks rendered kustomize builds offline: every object against the pinned JSON schemas in
// schemas/, then against our deployment policy, object by object and across each build (the
// read side behind the Ingress, the consumer within the partitions, NetworkPolicies). One line
// per problem, "BUILD: Kind/name: what"; exit 1 if there is any.
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

// --- rules across objects: the read side and the write side --------------------------------

/** The lims subcommand a container runs ("consume", "serve", ...): its first argument. */
function subcommand(container) {
  const args = [...(container.command || []), ...(container.args || [])];
  return args[0] === 'lims' ? args[1] : args[0];
}

/** Whether a label selector ({matchLabels, matchExpressions}, or a Service's plain map) selects
 *  the labels. An empty selector selects everything; a missing one nothing. */
function selects(selector, labels) {
  if (!selector) return false;
  const plain = !('matchLabels' in selector) && !('matchExpressions' in selector);
  const matchLabels = plain ? selector : selector.matchLabels || {};
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== v) return false;
  for (const e of (plain ? [] : selector.matchExpressions || [])) {
    const has = e.key in labels;
    const ok = { In: () => has && e.values.includes(labels[e.key]), NotIn: () => !has || !e.values.includes(labels[e.key]),
                 Exists: () => has, DoesNotExist: () => !has }[e.operator];
    if (!ok || !ok()) return false;
  }
  return true;
}

/** The fewest replicas a Deployment runs: its autoscaler's minimum, else spec.replicas (1). */
function minReplicas(deployment, objects) {
  const name = deployment.metadata?.name;
  const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' &&
    o.spec?.scaleTargetRef?.kind === 'Deployment' && o.spec.scaleTargetRef.name === name);
  if (hpa) return { count: hpa.spec.minReplicas ?? 1, from: `HorizontalPodAutoscaler/${hpa.metadata.name} minReplicas` };
  const scaled = objects.find((o) => o.kind === 'ScaledObject' && o.spec?.scaleTargetRef?.name === name);
  if (scaled) return { count: scaled.spec.minReplicaCount ?? 0, from: `ScaledObject/${scaled.metadata.name} minReplicaCount` };
  return { count: deployment.spec?.replicas ?? 1, from: 'spec.replicas' };
}

/** How many pods a PodDisruptionBudget keeps available out of `replicas`. */
function keptAvailable(pdb, replicas) {
  const value = (v, round) => (typeof v === 'string' && v.endsWith('%') ? round((replicas * parseFloat(v)) / 100) : Number(v));
  if (pdb.spec?.minAvailable !== undefined) return value(pdb.spec.minAvailable, Math.ceil);
  if (pdb.spec?.maxUnavailable !== undefined) return replicas - value(pdb.spec.maxUnavailable, Math.ceil);
  return 0;
}

/** Problems of one build as a whole, as [object, what] pairs. */
function buildProblems(objects) {
  const problems = [];
  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const runs = (d, sub) => (d.spec?.template?.spec?.containers || []).some((c) => subcommand(c) === sub);
  const podLabels = (o) => podSpec(o)?.metadata?.labels || {};
  const byName = (kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);

  // The consumer stays within the partitions: a member beyond them gets nothing.
  for (const o of objects) {
    const target = o.spec?.scaleTargetRef?.name;
    const consumer = deployments.some((d) => d.metadata?.name === target && runs(d, 'consume'));
    if (o.kind === 'HorizontalPodAutoscaler' && consumer && o.spec?.maxReplicas > PARTITIONS)
      problems.push([o, `maxReplicas ${o.spec.maxReplicas} exceeds the ${PARTITIONS} partitions`]);
    if (o.kind === 'ScaledObject' && consumer && (o.spec?.maxReplicaCount ?? 100) > PARTITIONS)
      problems.push([o, `maxReplicaCount ${o.spec?.maxReplicaCount ?? '(default 100)'} exceeds the ${PARTITIONS} partitions`]);
  }
  for (const d of deployments.filter((d) => runs(d, 'consume')))
    if ((d.spec?.replicas ?? 1) > PARTITIONS) problems.push([d, `replicas ${d.spec.replicas} exceed the ${PARTITIONS} partitions`]);

  // The read side exists, runs at least 2 replicas, and a PDB keeps one of them.
  const readers = deployments.filter((d) => runs(d, 'serve'));
  if (!readers.length) problems.push([null, 'no Deployment runs lims serve (the read side)']);
  for (const d of readers) {
    const min = minReplicas(d, objects);
    if (min.count < 2) problems.push([d, `the read side runs ${min.count} replica(s) at least (${min.from}), want 2 or more`]);
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget' && selects(o.spec?.selector, podLabels(d)));
    if (!pdbs.length) problems.push([d, 'the read side has no PodDisruptionBudget']);
    else if (!pdbs.some((p) => keptAvailable(p, Math.max(min.count, 2)) >= 1))
      problems.push([d, `PodDisruptionBudget ${pdbs.map((p) => p.metadata.name).join(', ')} keeps no read replica available`]);
  }

  // Every Ingress backend is a Service whose pods run lims serve, ready when the store answers:
  // never a pod whose readiness waits for Kafka (lims consume's /readyz wants partitions).
  for (const ing of objects.filter((o) => o.kind === 'Ingress')) {
    const backends = [ing.spec?.defaultBackend, ...(ing.spec?.rules || []).flatMap((r) => (r.http?.paths || []).map((p) => p.backend))]
      .filter((b) => b?.service?.name);
    for (const b of backends) {
      const svc = byName('Service', b.service.name);
      if (!svc) { problems.push([ing, `backend Service ${b.service.name} is not in the build`]); continue; }
      const pods = objects.filter((o) => podSpec(o) && selects(svc.spec?.selector, podLabels(o)));
      if (!pods.length) problems.push([ing, `backend Service ${svc.metadata.name} selects no pods`]);
      for (const w of pods) {
        for (const c of podSpec(w).spec?.containers || []) {
          const sub = subcommand(c);
          const path = c.readinessProbe?.httpGet?.path;
          if (sub !== 'serve')
            problems.push([ing, `backend Service ${svc.metadata.name} selects ${w.kind}/${w.metadata.name}, which runs lims ${sub}: its readiness depends on Kafka (only lims serve's asks the store alone)`]);
          else if (!['/readyz', '/healthz'].includes(path))
            problems.push([ing, `backend ${w.kind}/${w.metadata.name}: readinessProbe is ${path ? `GET ${path}` : 'not an HTTP GET'}, want lims serve's /readyz`]);
        }
      }
    }
  }

  // Every lims pod is behind a NetworkPolicy for ingress (the default deny).
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && (o.spec?.policyTypes || ['Ingress']).includes('Ingress'));
  for (const w of objects.filter((o) => podSpec(o)))
    if (!policies.some((p) => p.metadata?.namespace === w.metadata?.namespace && selects(p.spec?.podSelector, podLabels(w))))
      problems.push([w, 'no NetworkPolicy restricts ingress to its pods']);
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
    console.log(obj ? `${build.name}: ${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}: ${what}` : `${build.name}: ${what}`);
  };
  const all = [];
  for (const doc of parseAllDocuments(readFileSync(build.file, 'utf8'))) {
    if (doc.errors.length) {
      fail(null, `YAML: ${doc.errors[0].message}`);
      continue;
    }
    const obj = doc.toJS();
    if (obj === null) continue;
    objects++;
    all.push(obj);
    const ref = kinds[`${obj.apiVersion}/${obj.kind}`];
    if (!ref) fail(obj, `no pinned schema for ${obj.apiVersion} ${obj.kind} (add one to tests/deploy/schemas)`);
    else if (!ajv.validate(ref, obj)) fail(obj, `schema: ${describe(ajv.errors)}`);
    for (const p of policyProblems(obj, build.env)) fail(obj, p);
  }
  for (const [obj, what] of buildProblems(all)) fail(obj, what);
}
if (failures) process.exit(1);
console.log(`check-manifests: ${objects} objects in ${builds.length} builds (${builds.map((b) => b.name).join(', ')}) match their schemas and the policy`);
