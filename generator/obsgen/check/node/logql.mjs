#!/usr/bin/env node
// Parse LogQL with @grafana/lezer-logql, the grammar of Grafana's own Loki query editor.
// Usage: node logql.mjs < exprs.json   where exprs.json is [{"id": "...", "expr": "..."}, ...]
// Prints one JSON array, per expression: {id, errors: [{offset, near}], matchers: [{label, op, value, in}],
// grouping: [{kind, labels}], extracts}: `in` is "selector" (a stream label) or "filter" (a label filter stage),
// and extracts is true when a parser stage (json, logfmt, regexp, pattern, label_format) adds labels. Exit 0 when no expression has an error node, 1 when one has, 2 on bad input.
// The matchers and grouping labels are reported so callers can check label names the grammar cannot judge.
import { readFileSync } from 'node:fs';
import { parser } from '@grafana/lezer-logql';

function fail(message) {
  console.error(`logql.mjs: ${message}`);
  process.exit(2);
}

// Pipeline stages that add labels from the line (a grouping may name those; a stream selector may not).
const EXTRACTORS = new Set(['LabelParser', 'JsonExpressionParser', 'LogfmtParser', 'LogfmtExpressionParser', 'LabelFormatExpr']);

function within(node, name) {
  for (let p = node.parent; p; p = p.parent) {
    if (p.name === name) return true;
    if (p.name === 'LabelFilter' || p.name === 'PipelineStage') return false;
  }
  return false;
}

// Labels nodes nest ("a, b, c" is Labels(Labels(Labels(a), b), c)): collect every Identifier inside.
function identifiers(node, expr) {
  const out = [];
  for (let c = node?.firstChild; c; c = c.nextSibling) {
    if (c.name === 'Identifier') out.push(expr.slice(c.from, c.to));
    else if (c.name === 'Labels') out.push(...identifiers(c, expr));
  }
  return out;
}

function analyse(expr) {
  const tree = parser.parse(expr);
  const errors = [];
  const matchers = [];
  const grouping = [];
  let extracts = false;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) {
        errors.push({ offset: n.from, near: expr.slice(Math.max(0, n.from - 12), n.from + 12) });
      } else if (n.name === 'Matcher') {
        const node = n.node;
        const label = node.getChild('Identifier');
        const value = node.getChild('String');
        const op = label && value ? expr.slice(label.to, value.from).trim() : '';
        matchers.push({
          label: label ? expr.slice(label.from, label.to) : '', op, value: value ? expr.slice(value.from, value.to) : '',
          in: within(node, 'Selector') ? 'selector' : 'filter',
        });
      } else if (n.name === 'Grouping') {
        const node = n.node;
        const kind = node.getChild('By') ? 'by' : node.getChild('Without') ? 'without' : '';
        grouping.push({ kind, labels: identifiers(node.getChild('Labels'), expr) });
      } else if (EXTRACTORS.has(n.name)) {
        extracts = true;
      }
    },
  });
  return { errors, matchers, grouping, extracts };
}

let input;
try {
  input = JSON.parse(readFileSync(0, 'utf8'));
} catch (e) {
  fail(`stdin is not JSON: ${e.message}`);
}
if (!Array.isArray(input)) fail('stdin must be a JSON array of {"id", "expr"} objects');
let bad = 0;
const out = input.map((item, i) => {
  if (typeof item !== 'object' || item === null || typeof item.expr !== 'string') {
    fail(`item ${i} has no string "expr"`);
  }
  const result = { id: String(item.id ?? i), ...analyse(item.expr) };
  if (result.errors.length) bad += 1;
  return result;
});
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(bad ? 1 : 0);
