// BAD: importstr of an absolute path: /etc/passwd would be copied into dashboards that `obsgen import` uploads.
{
  service: { name: 'shop', team: 'web', description: importstr '/etc/passwd' },
  metrics: [{ name: 'shop_requests_total', type: 'counter', help: 'Requests.' }],
}
