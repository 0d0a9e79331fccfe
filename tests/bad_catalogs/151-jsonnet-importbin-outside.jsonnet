// BAD: importbin of a file outside the catalogs folder.
{
  service: { name: 'shop', team: 'web', description: std.toString(std.length(importbin '/etc/hostname')) },
  metrics: [{ name: 'shop_requests_total', type: 'counter', help: 'Requests.' }],
}
