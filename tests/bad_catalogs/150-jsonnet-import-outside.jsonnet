// BAD: an import that climbs out of the catalogs folder with ../
local outside = importstr '../../../../../../../../../../etc/hostname';
{
  service: { name: 'shop', team: 'web', description: outside },
  metrics: [{ name: 'shop_requests_total', type: 'counter', help: 'Requests.' }],
}
