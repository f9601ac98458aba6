// Lint runs as part of `npm test`; type-aware rules catch floating promises in the loops.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * One importer per library (STYLE.md): each library, subpaths included (`isomorphic-git/http/node`,
 * `dockerode/lib/…`), may be imported only by the files that own it. Per library: the owner of one
 * is still barred from the others (src/store may import etcd3, not dockerode).
 */
const owners = [
  { library: 'etcd3', files: 'src/store/**/*.ts', owner: 'src/store' },
  // The fault-handling policies of the etcd3 client (src/store/etcd.ts).
  { library: 'cockatiel', files: 'src/store/**/*.ts', owner: 'src/store' },
  // The certificates of berth up's own etcd (src/store/local-pki.ts).
  { library: 'node-forge', files: 'src/store/local-pki.ts', owner: 'src/store/local-pki.ts' },
  { library: 'dockerode', files: 'src/agent/**/*.ts', owner: 'src/agent' },
  // age identities and the data keys of sops files, on the node only (src/agent/age.ts).
  { library: 'age-encryption', files: 'src/agent/age.ts', owner: 'src/agent/age.ts' },
  { library: 'isomorphic-git', files: 'src/sync/**/*.ts', owner: 'src/sync' },
  { library: 'chokidar', files: 'src/sync/**/*.ts', owner: 'src/sync' },
  // Signature checks of commits (src/sync/pgp.ts).
  { library: 'openpgp', files: 'src/sync/**/*.ts', owner: 'src/sync' },
  { library: 'commander', files: 'src/cli/**/*.ts', owner: 'src/cli' },
  { library: 'pino', files: 'src/log.ts', owner: 'src/log.ts' },
  { library: 'pino-pretty', files: 'src/log.ts', owner: 'src/log.ts' },
  { library: 'fastify', files: 'src/api/server.ts', owner: 'src/api/server.ts' },
  { library: '@fastify/websocket', files: 'src/api/server.ts', owner: 'src/api/server.ts' },
  // exec's channel sockets (the API server's come through @fastify/websocket).
  { library: 'ws', files: 'src/channels.ts', owner: 'src/channels.ts' },
  // The components' metrics (src/metrics.ts) and the API server's own (src/api/metrics.ts).
  { library: 'prom-client', files: 'src/{metrics,api/metrics}.ts', owner: 'src/metrics.ts and src/api/metrics.ts' },
];

function restrictedImports(libraries) {
  const patterns = libraries.map(({ library, owner }) => ({
    // The library itself or any subpath of it; not a library whose name merely starts alike (pino-pretty).
    regex: `^${library}(/.*)?$`, // library names hold no regex metacharacters
    message: `only ${owner} imports ${library}: use what ${owner} exports`,
  }));
  return { 'no-restricted-imports': ['error', { patterns }] };
}

function oneImporterPerLibrary() {
  const globs = [...new Set(owners.map((o) => o.files))];
  return [
    { files: ['src/**/*.ts'], rules: restrictedImports(owners) },
    ...globs.map((files) => ({ files: [files], rules: restrictedImports(owners.filter((o) => o.files !== files)) })),
  ];
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.berth/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...oneImporterPerLibrary(),
);
