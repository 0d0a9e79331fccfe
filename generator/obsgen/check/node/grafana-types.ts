// Panel-level types for generated dashboards, built only from @grafana/schema.
// The Dashboard type leaves panel `options` and `targets` as loose records, so each panel is also
// checked against its plugin's own Options/FieldConfig types, and each target against a query shape.
import type {
  AnnotationQuery, DataQuery, DataSourceRef, FieldConfig, FieldConfigSource, Panel, RowPanel as SchemaRowPanel,
} from '@grafana/schema';
import type * as BarGauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as Gauge from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type * as Logs from '@grafana/schema/dist/esm/raw/composable/logs/panelcfg/x/LogsPanelCfg_types.gen';
import type * as Stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as Table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as TimeSeries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

// JSON holds enum values as plain strings: map TypeScript string enums to their literal values.
export type J<T> = T extends string ? `${T}`
  : T extends number | boolean | null | undefined ? T
  : T extends Array<infer U> ? Array<J<U>>
  : T extends object ? { [K in keyof T]: J<T[K]> }
  : T;

// The Prometheus and Loki query models Grafana saves (fields of their dataquery schemas that obsgen uses).
export interface PromQuery extends DataQuery {
  datasource?: DataSourceRef;
  editorMode?: 'code' | 'builder';
  exemplar?: boolean;
  expr: string;
  format?: 'time_series' | 'table' | 'heatmap';
  instant?: boolean;
  interval?: string;
  legendFormat?: string;
  range?: boolean;
}
export interface LokiQuery extends DataQuery {
  datasource?: DataSourceRef;
  editorMode?: 'code' | 'builder';
  expr: string;
  legendFormat?: string;
  queryType?: 'range' | 'instant' | 'stream';
}

type Typed<Kind extends string, O, Custom, Q> = Omit<Panel, 'type' | 'options' | 'fieldConfig' | 'targets'> & {
  type: Kind;
  options: O;
  fieldConfig: { defaults: Omit<FieldConfig, 'custom'> & { custom?: Custom }; overrides: FieldConfigSource['overrides'] };
  targets: Q[];
};
type NoCustom = Record<string, never>;

export type TimeseriesPanel = Typed<'timeseries', TimeSeries.Options, TimeSeries.FieldConfig, PromQuery>;
export type StatPanel = Typed<'stat', Stat.Options, NoCustom, PromQuery>;
export type GaugePanel = Typed<'gauge', Gauge.Options, NoCustom, PromQuery>;
export type BarGaugePanel = Typed<'bargauge', BarGauge.Options, NoCustom, PromQuery>;
export type TablePanel = Typed<'table', Table.Options, Table.FieldConfig, PromQuery>;
export type LogsPanel = Typed<'logs', Logs.Options, NoCustom, LokiQuery>;
export type RowPanel = Omit<SchemaRowPanel, 'panels'> & { panels: never[] };
// Angular "graph", "singlestat" and any other type: nothing may be assigned to it.
export type DisallowedPanel = never;

// Grafana's built-in annotation, and a Prometheus annotation in the fields the Prometheus datasource reads.
export type BuiltInAnnotation = AnnotationQuery & { builtIn: 1 };
export type PromAnnotation = AnnotationQuery & {
  expr: string;
  step?: string;
  tagKeys?: string;
  textFormat?: string;
  titleFormat?: string;
  useValueForTime?: boolean;
};
