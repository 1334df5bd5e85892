#!/usr/bin/env node
// Reads the Dockerfile for scripts/check-deploy (no dependencies, so it runs before npm ci).
//   dockerfile.mjs packages DOCKERFILE STAGE   the Debian packages STAGE's apt-get install names
//   dockerfile.mjs policy DOCKERFILE           one line per broken image rule; exit 1 if any
import { readFileSync } from 'node:fs';

/** The instructions of a Dockerfile: {line, op, args} with continuations joined, comments gone. */
function instructions(text) {
  const out = [];
  let pending = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return;  // a comment inside a continuation
    const body = line.endsWith('\\') ? line.slice(0, -1) : line;
    if (!pending) {
      const m = body.match(/^(\S+)\s*(.*)$/);
      pending = { line: i + 1, op: m[1].toUpperCase(), args: m[2] };
    } else {
      pending.args += ' ' + body;
    }
    if (!line.endsWith('\\')) {
      out.push(pending);
      pending = null;
    }
  });
  if (pending) out.push(pending);
  return out;
}

/** Stages: {name, from, instructions}, in order. */
function stages(text) {
  const result = [];
  for (const ins of instructions(text)) {
    if (ins.op === 'FROM') {
      const m = ins.args.match(/^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i);
      result.push({ name: m[2] || String(result.length), from: m[1], line: ins.line, body: [] });
    } else if (result.length) {
      result[result.length - 1].body.push(ins);
    }
  }
  return result;
}

/** The package names after each `apt-get install` in a RUN, options and shell operators left out. */
function aptPackages(stage) {
  const pkgs = [];
  for (const ins of stage.body.filter((i) => i.op === 'RUN')) {
    for (const cmd of ins.args.split(/&&|\|\||;/)) {
      const words = cmd.trim().split(/\s+/);
      const at = words.findIndex((w, k) => w === 'install' && /apt(-get)?$/.test(words[k - 1] || ''));
      if (at < 0) continue;
      for (const w of words.slice(at + 1)) if (w && !w.startsWith('-')) pkgs.push(w);
    }
  }
  return pkgs;
}

function policy(text) {
  const problems = [];
  const all = stages(text);
  if (!all.length) return ['no FROM'];
  for (const s of all) {
    const image = s.from.replace(/@sha256:[0-9a-f]{64}$/, '');
    const tag = image.includes(':') && image.lastIndexOf(':') > image.lastIndexOf('/')
      ? image.slice(image.lastIndexOf(':') + 1) : '';
    if (!s.from.includes('@sha256:') && (tag === '' || tag === 'latest'))
      problems.push(`line ${s.line}: FROM ${s.from}: base image not pinned (no tag, or latest)`);
  }
  const last = all[all.length - 1];
  const user = last.body.filter((i) => i.op === 'USER').pop();
  if (!user) problems.push(`stage ${last.name}: no USER (the runtime would run as root)`);
  else if (!/^[1-9][0-9]*(:[0-9]+)?$/.test(user.args.trim()))
    problems.push(`line ${user.line}: USER ${user.args}: not a numeric non-root uid`);
  const entry = last.body.filter((i) => i.op === 'ENTRYPOINT').pop();
  if (!entry || entry.args.replace(/\s/g, '') !== '["lims"]')
    problems.push(`stage ${last.name}: ENTRYPOINT is not ["lims"]`);
  if (!last.body.some((i) => i.op === 'HEALTHCHECK' && /\/healthz/.test(i.args)))
    problems.push(`stage ${last.name}: no HEALTHCHECK asking /healthz`);
  return problems;
}

const [verb, file, stageName] = process.argv.slice(2);
if (!file || !['packages', 'policy'].includes(verb) || (verb === 'packages' && !stageName)) {
  console.error('usage: dockerfile.mjs packages DOCKERFILE STAGE | policy DOCKERFILE');
  process.exit(2);
}
const text = readFileSync(file, 'utf8');
if (verb === 'packages') {
  const stage = stages(text).find((s) => s.name === stageName);
  if (!stage) {
    console.error(`dockerfile.mjs: no stage ${stageName} in ${file}`);
    process.exit(2);
  }
  console.log(aptPackages(stage).join('\n'));
} else {
  const problems = policy(text);
  for (const p of problems) console.log(`Dockerfile: ${p}`);
  process.exit(problems.length ? 1 : 0);
}
