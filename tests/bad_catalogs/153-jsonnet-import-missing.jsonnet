// BAD: an import that exists neither beside the catalog nor in vendor/.
local lib = import 'lib/missing.libsonnet';
{ service: { name: 'shop', team: 'web' }, metrics: lib.metrics }
