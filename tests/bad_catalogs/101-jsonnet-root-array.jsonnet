// A Jsonnet catalog that evaluates to an array.
[{ service: { name: 'shop', team: 'web' } }]
