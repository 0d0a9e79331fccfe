// A Jsonnet catalog whose objective is a string.
{
  service: { name: 'shop', team: 'web' },
  metrics: [{ name: 'shop_requests_total', type: 'counter', help: 'Requests.' }],
  slos: [{ name: 'availability', kind: 'availability', objective: '99.9',
           errors: { metric: 'shop_requests_total' }, total: { metric: 'shop_requests_total' } }],
}
