#!/usr/bin/env node
// Type-check Grafana dashboard JSON files against @grafana/schema with tsc.
// Usage: node check.mjs [--map MAP.json] DASHBOARD.json...   Exit 0 when every file type-checks, 1 otherwise.
// Each dashboard becomes one .ts file: every panel typed by its plugin's types, the whole by Dashboard.
// With --map, MAP.json gets, per dashboard, which lines of its .ts hold which part of the JSON ("/panels/3"),
// so the caller can point a tsc error at the dashboard's own line.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const PANEL_TYPES = {
  timeseries: 'TimeseriesPanel', stat: 'StatPanel', gauge: 'GaugePanel', bargauge: 'BarGaugePanel',
  table: 'TablePanel', logs: 'LogsPanel', row: 'RowPanel',
};

function toTs(dashboard, source) {
  const lines = [
    `// ${source}`,
    "import type { Dashboard } from '@grafana/schema';",
    `import type { J, ${[...new Set(Object.values(PANEL_TYPES))].join(', ')}, DisallowedPanel, BuiltInAnnotation, PromAnnotation } from './grafana-types';`,
  ];
  const map = [];
  let next = lines.length + 1; // the header lines are one line each
  const push = (pointer, text) => {
    const count = text.split('\n').length;
    lines.push(text);
    map.push({ pointer, from: next, to: next + count - 1 });
    next += count;
  };
  const panels = (dashboard.panels ?? []).map((panel, i) => {
    const type = PANEL_TYPES[panel.type] ?? 'DisallowedPanel';
    push(`/panels/${i}`, `const panel_${i}: J<${type}> = ${JSON.stringify(panel, null, 2)};`);
    return `panel_${i}`;
  });
  const annotations = (dashboard.annotations?.list ?? []).map((a, i) => {
    push(`/annotations/list/${i}`, `const annotation_${i}: J<${a.builtIn ? 'BuiltInAnnotation' : 'PromAnnotation'}> = ${JSON.stringify(a, null, 2)};`);
    return `annotation_${i}`;
  });
  const body = { ...dashboard, panels: '__PANELS__', annotations: { ...(dashboard.annotations ?? {}), list: '__ANNOTATIONS__' } };
  const text = JSON.stringify(body, null, 2)
    .replace('"__PANELS__"', `[${panels.join(', ')}]`)
    .replace('"__ANNOTATIONS__"', `[${annotations.join(', ')}]`);
  push('', `export const dashboard: J<Dashboard> = ${text};`);
  return { text: lines.join('\n') + '\n', map };
}

let files = process.argv.slice(2);
let mapFile = null;
if (files[0] === '--map') {
  mapFile = files[1];
  files = files.slice(2);
}
if (files.length === 0 || (mapFile !== null && !mapFile)) {
  console.error('usage: node check.mjs [--map MAP.json] DASHBOARD.json...');
  process.exit(2);
}
const work = mkdtempSync(join(here, '.check-'));
let status = 1;
try {
  const names = new Map();
  const maps = {};
  files.forEach((file, i) => {
    const name = `d${i}_${basename(file).replace(/[^A-Za-z0-9]/g, '_')}.ts`;
    names.set(name, file);
    const { text, map } = toTs(JSON.parse(readFileSync(file, 'utf8')), file);
    writeFileSync(join(work, name), text);
    maps[file] = map;
  });
  if (mapFile) writeFileSync(mapFile, JSON.stringify(maps));
  copyFileSync(join(here, 'grafana-types.ts'), join(work, 'grafana-types.ts'));
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler',
      skipLibCheck: true, types: [], noErrorTruncation: true,
    },
    include: ['*.ts'],
  }));
  const tsc = spawnSync(process.execPath, [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work, '--pretty', 'false'],
    { cwd: work, encoding: 'utf8', timeout: 300000 });
  let out = `${tsc.stdout ?? ''}${tsc.stderr ?? ''}`;
  for (const [name, file] of names) {
    out = out.split(`${resolve(work)}/${name}`).join(file).split(`${basename(work)}/${name}`).join(file).split(name).join(file);
  }
  if (out.trim()) process.stdout.write(out);
  status = tsc.status === 0 ? 0 : 1;
  if (tsc.error) {
    console.error(`check.mjs: could not run tsc: ${tsc.error.message}`);
    status = 1;
  }
  if (status === 0) console.log(`check.mjs: ${files.length} dashboards type-check against @grafana/schema`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(status);
