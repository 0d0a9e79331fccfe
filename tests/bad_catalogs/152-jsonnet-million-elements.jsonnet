// BAD: a million-element array; evaluation once ran past 60 s and 20 GB. Now it stops at the memory bound.
{
  service: { name: 'shop', team: 'web' },
  metrics: [{ name: 'shop_m%d' % i, type: 'gauge', help: 'M.' } for i in std.range(1, 1000000)],
}
