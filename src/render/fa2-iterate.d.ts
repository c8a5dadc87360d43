// The ForceAtlas2 iteration kernel ships without its own typings.
declare module 'graphology-layout-forceatlas2/iterate.js' {
  /** One ForceAtlas2 iteration over the flat node (10 floats/node) and edge (3 floats/edge) matrices. */
  export default function iterate(settings: object, nodes: Float32Array, edges: Float32Array): unknown;
}
