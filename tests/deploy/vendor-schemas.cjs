#!/usr/bin/env node
// Regenerates schemas/kubernetes-1.27.1.json: the JSON schemas of the built-in kinds our
// manifests use, taken from kubernetes-models@4.3.1 (generated from the Kubernetes v1.27.1
// OpenAPI spec; MIT, github.com/tommy351/kubernetes-models-ts), bundled into one file and made
// strict (an object with listed properties rejects any other property, as kubeconform's
// "-strict" schemas do). Not run by CI: the output is committed.
//
//   npm install --prefix /tmp/k8s-models kubernetes-models@4.3.1
//   node tests/deploy/vendor-schemas.cjs /tmp/k8s-models/node_modules > tests/deploy/schemas/kubernetes-1.27.1.json
'use strict';
const path = require('path');
const Module = require('module');

const modules = process.argv[2];
if (!modules) {
  console.error('usage: vendor-schemas.cjs NODE_MODULES_DIR > kubernetes-1.27.1.json');
  process.exit(2);
}
const version = require(path.join(modules, 'kubernetes-models/package.json')).version;
if (version !== '4.3.1') throw new Error(`expected kubernetes-models 4.3.1, found ${version}`);

// The kinds the manifests use: apiVersion/kind -> OpenAPI definition id.
const KINDS = {
  'v1/ConfigMap': 'io.k8s.api.core.v1.ConfigMap',
  'v1/Secret': 'io.k8s.api.core.v1.Secret',
  'v1/Service': 'io.k8s.api.core.v1.Service',
  'apps/v1/Deployment': 'io.k8s.api.apps.v1.Deployment',
  'batch/v1/CronJob': 'io.k8s.api.batch.v1.CronJob',
  'batch/v1/Job': 'io.k8s.api.batch.v1.Job',
  'policy/v1/PodDisruptionBudget': 'io.k8s.api.policy.v1.PodDisruptionBudget',
  'autoscaling/v2/HorizontalPodAutoscaler': 'io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler',
  'networking.k8s.io/v1/Ingress': 'io.k8s.api.networking.v1.Ingress',
  'networking.k8s.io/v1/NetworkPolicy': 'io.k8s.api.networking.v1.NetworkPolicy',
};

// Capture every schema the models register, instead of compiling them.
const registered = {};
const fakeValidate = { register: (id, schema) => { registered[id] = schema; }, validate() {} };
const realResolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === '@kubernetes-models/validate') return '@kubernetes-models/validate';
  return realResolve.call(this, request, ...rest);
};
require.cache['@kubernetes-models/validate'] = { id: 'x', filename: 'x', loaded: true, exports: fakeValidate };

const fileOf = (id) => 'IoK8s' + id.replace(/^io\.k8s\./, '').split('.')
  .map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
for (const id of Object.values(KINDS)) {
  require(path.join(modules, 'kubernetes-models/_schemas', fileOf(id) + '.js')).addSchema();
}

// Rewrite "$ref": "id#" to "#/definitions/id", make objects strict, collect what is reachable.
const formats = new Set();
function rewrite(node, reach) {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, reach));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref') {
      const id = v.replace(/#$/, '');
      reach.push(id);
      out.$ref = '#/definitions/' + id;
    } else if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v).map(([p, s]) => [p, rewrite(s, reach)]));
    } else {
      if (k === 'format') formats.add(v);
      out[k] = rewrite(v, reach);
    }
  }
  if (out.properties && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}
const definitions = {};
const todo = Object.values(KINDS);
while (todo.length) {
  const id = todo.pop();
  if (definitions[id]) continue;
  if (!registered[id]) throw new Error(`schema ${id} was not registered`);
  definitions[id] = rewrite(registered[id], todo);
}
const sorted = Object.fromEntries(Object.keys(definitions).sort().map((k) => [k, definitions[k]]));
process.stdout.write(JSON.stringify({
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'kubernetes-1.27.1.json',
  $comment: 'Kubernetes v1.27.1 OpenAPI definitions for the kinds in x-kinds, from ' +
    'kubernetes-models@4.3.1 (MIT), made strict; regenerate with tests/deploy/vendor-schemas.cjs.',
  'x-kinds': KINDS,
  'x-formats': [...formats].sort(),
  definitions: sorted,
}, null, 1) + '\n');
