// A Jsonnet catalog with a syntax error.
{ service: { name: 'shop' team: 'web' } }
