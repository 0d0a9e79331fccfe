// A Jsonnet catalog whose evaluation fails.
local team = std.extVar('team');
{ service: { name: 'shop', team: team }, metrics: [] }
