/**
 * The direction of the arrows in src/ (ARCHITECTURE.md): the folders in data-flow order, each of
 * which may import only itself and the folders before it. Any import not allowed here fails
 * `npm run lint:imports`, which the test command runs first; an arrow against the flow fails CI.
 *
 *   core -> recipe -> settings -> source -> plan -> fetch -> hosts -> build -> package -> index -> publish
 *        -> pipeline -> verify -> admin -> cli
 *
 * hosts (Docker engines, the images on them, the pool that spreads jobs) is the machinery beside
 * the stages: it knows what a build job is (plan) and nothing of what builds do with it.
 */
const LAYERS = ['core', 'recipe', 'settings', 'source', 'plan', 'fetch', 'hosts', 'build', 'package', 'index', 'publish', 'pipeline', 'verify', 'admin', 'cli'];

module.exports = {
  allowedSeverity: 'error',
  allowed: [
    // Node's own modules and the packages in package.json "dependencies".
    { from: { path: '^src/' }, to: { dependencyTypes: ['core', 'npm'] } },
    ...LAYERS.map((layer, i) => ({
      comment: `${layer} may import ${LAYERS.slice(0, i + 1).join(', ')}`,
      from: { path: `^src/${layer}/` },
      to: { path: `^src/(${LAYERS.slice(0, i + 1).join('|')})/` },
    })),
  ],
  forbidden: [
    { name: 'no-unresolvable', severity: 'error', from: { path: '^src/' }, to: { couldNotResolve: true } },
    { name: 'no-dev-dependency-in-src', severity: 'error', from: { path: '^src/' }, to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'], conditionNames: ['import', 'node', 'default'], exportsFields: ['exports'] },
  },
};
