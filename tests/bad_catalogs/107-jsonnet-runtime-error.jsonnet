// A Jsonnet catalog that divides by zero.
{
  service: { name: 'shop', team: 'web' },
  metrics: [{ name: 'shop_requests_total', type: 'counter', help: 'Requests.', buckets: [1 / 0] }],
}
